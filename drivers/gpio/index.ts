// Picks the GPIO backend named in the config. Hardware backends load lazily: onoff needs epoll at
// load time, and a box on the character device should not pay for it.
import type { GpioBackend } from './backend.js';
import { SimGpioBackend } from './sim.js';

export type GpioBackendKind = 'sim' | 'gpiod' | 'onoff';

export async function loadGpioBackendFactory(kind: GpioBackendKind): Promise<() => GpioBackend> {
  switch (kind) {
    case 'sim':
      return () => new SimGpioBackend();
    case 'gpiod': {
      const { GpiodBackend } = await import('./gpiod.js');
      return () => new GpiodBackend({});
    }
    case 'onoff': {
      const { OnoffBackend } = await import('./onoff.js');
      return () => new OnoffBackend({});
    }
  }
}

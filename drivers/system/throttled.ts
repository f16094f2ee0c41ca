// Raspberry Pi firmware's throttling word (`vcgencmd get_throttled`, or the same value in
// /sys/devices/platform/soc/soc:firmware/get_throttled on recent kernels). Bits per the Raspberry
// Pi documentation ("vcgencmd get_throttled"): low bits are *now*, bits 16+ *since boot*.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export interface ThrottledFlags {
  raw: string;
  underVoltage: boolean;
  freqCapped: boolean;
  throttled: boolean;
  softTempLimit: boolean;
  underVoltageOccurred: boolean;
  freqCappedOccurred: boolean;
  throttledOccurred: boolean;
  softTempLimitOccurred: boolean;
}

export function decodeThrottled(value: number): ThrottledFlags {
  const bit = (n: number) => (value & (1 << n)) !== 0;
  return {
    raw: `0x${value.toString(16)}`,
    underVoltage: bit(0),
    freqCapped: bit(1),
    throttled: bit(2),
    softTempLimit: bit(3),
    underVoltageOccurred: bit(16),
    freqCappedOccurred: bit(17),
    throttledOccurred: bit(18),
    softTempLimitOccurred: bit(19),
  };
}

/** `throttled=0x50005` (vcgencmd) or `50005` (sysfs, hex without prefix) → the number. */
export function parseThrottled(text: string): number | undefined {
  const m = /(?:throttled=)?(0x)?([0-9a-f]+)\s*$/i.exec(text.trim());
  if (!m?.[2]) return undefined;
  return Number.parseInt(m[2], 16);
}

export const SYSFS_THROTTLED = '/sys/devices/platform/soc/soc:firmware/get_throttled';

/**
 * The firmware's word, or undefined when this platform has none (every non-Pi box, these VMs):
 * absent is a normal answer, never an error.
 */
export async function readThrottled(sysfsPath = SYSFS_THROTTLED, vcgencmd = 'vcgencmd'): Promise<number | undefined> {
  try {
    return parseThrottled(await readFile(sysfsPath, 'utf8'));
  } catch {
    // No sysfs node (older kernel or not a Pi): ask the firmware tool, if installed.
  }
  return new Promise((resolve) => {
    execFile(vcgencmd, ['get_throttled'], { timeout: 2_000 }, (err, stdout) => {
      resolve(err ? undefined : parseThrottled(String(stdout)));
    });
  });
}

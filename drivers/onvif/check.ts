// One ONVIF health check of one camera, with the `onvif` package (node-onvif, the product card's
// choice, is unmaintained since 2018). The four answers follow EdgeX's ONVIF device service:
// up with auth, up but credentials refused, reachable (TCP only), unreachable.
//
// Quirks of the library handled here:
// - Its callbacks are node-style and may fire twice when its own parsing throws after xml2js has
//   ended (the rethrow reaches the outer catch): every call is wrapped once-only, with our deadline.
// - `timeout` is a socket idle timeout, so a camera trickling bytes would never time out: each call
//   also has a hard deadline, and the camera's own http.Agent is destroyed when it passes.
// - It caches `timeShift` (camera clock minus ours) from the first GetSystemDateAndTime and never
//   refreshes it; we reset it every check so a camera whose clock jumped still authenticates and
//   its drift is measured fresh.
// - Service URLs from GetCapabilities only lend their path; host and port stay ours (NAT-safe).
import { createHash } from 'node:crypto';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import type onvifLib from 'onvif';
import { errorCode, errorMessage, WardgateError } from '../../agent/errors.js';

// Loaded on first use: a box without cameras never pays the onvif package's ~12 MiB (idle RSS, READY).
let onvifCached: typeof onvifLib | undefined;
const onvif = (): typeof onvifLib => {
  onvifCached ??= createRequire(import.meta.url)('onvif') as typeof onvifLib;
  return onvifCached;
};

export type Reach = 'online' | 'auth_failed' | 'reachable' | 'unreachable';

export interface CameraTarget {
  host: string;
  port: number;
  username?: string;
  password?: string;
  timeoutMs: number;
  snapshot: boolean;
}

export interface CameraObservation {
  reach: Reach;
  /** Camera clock minus ours, ms (the camera says whole seconds: ±1 s). */
  driftMs?: number;
  /** The camera's clock as GetSystemDateAndTime said it (ISO). */
  cameraTime?: string;
  info?: { manufacturer?: string; model?: string; firmware?: string; serial?: string };
  /** SHA-256 of the snapshot bytes, when the snapshot check is on and it worked. */
  snapshotHash?: string;
  /** Why the snapshot is missing (the camera itself may be fine). */
  snapshotErrorCode?: string;
  snapshotError?: string;
  errorCode?: string;
  error?: string;
}

type Cam = InstanceType<typeof onvifLib.Cam>;

export class CameraSession {
  private cam: Cam | undefined;
  private agent: Agent | undefined;
  private snapshotUri: string | undefined;
  private closed = false;
  /** Rejects the library call in flight: after its socket is destroyed mid-reply the library never calls back. */
  private abortCall: ((err: Error) => void) | undefined;

  constructor(private readonly target: CameraTarget) {}

  async check(): Promise<CameraObservation> {
    this.closed = false;
    try {
      return await this.checkOnce();
    } catch (err) {
      this.reset();
      const code = errorCode(err);
      // Closed mid-check (the driver is stopping): no TCP probe, the answer is not used.
      if (this.closed) return { reach: 'unreachable', errorCode: code ?? 'WG_ERR_ONVIF_UNREACHABLE', error: 'stopped' };
      if (code === 'WG_ERR_ONVIF_AUTH') return { reach: 'auth_failed', errorCode: code, error: errorMessage(err) };
      const tcp = await this.tcpReachable();
      return {
        reach: tcp ? 'reachable' : 'unreachable',
        errorCode: tcp ? (code ?? 'WG_ERR_ONVIF_BAD_REPLY') : 'WG_ERR_ONVIF_UNREACHABLE',
        error: errorMessage(err),
      };
    }
  }

  /** Cuts a check in flight short (its sockets destroyed); a later check opens a new session. */
  close(): void {
    this.closed = true;
    this.reset();
    this.abortCall?.(new WardgateError('WG_ERR_ONVIF_UNREACHABLE', 'stopped'));
  }

  private async checkOnce(): Promise<CameraObservation> {
    const cam = this.session();
    cam.timeShift = undefined;
    const t0 = Date.now();
    const camTime = await this.call<Date>('GetSystemDateAndTime', (cb) => cam.getSystemDateAndTime(cb));
    const t1 = Date.now();
    // The camera truncates to whole seconds: its true time is in [camTime, camTime + 1 s).
    const driftMs = camTime.getTime() + 500 - (t0 + t1) / 2;
    if (!cam.uri?.media) await this.call('GetCapabilities', (cb) => cam.getCapabilities(cb));
    const info = await this.call<Record<string, string>>('GetDeviceInformation', (cb) => cam.getDeviceInformation(cb));
    const obs: CameraObservation = {
      reach: 'online',
      driftMs,
      cameraTime: camTime.toISOString(),
      info: {
        manufacturer: info.manufacturer,
        model: info.model,
        firmware: info.firmwareVersion,
        serial: info.serialNumber,
      },
    };
    if (this.target.snapshot) {
      try {
        obs.snapshotHash = await this.snapshot(cam);
      } catch (err) {
        this.snapshotUri = undefined;
        obs.snapshotErrorCode = errorCode(err) ?? 'WG_ERR_CAMERA_SNAPSHOT';
        obs.snapshotError = errorMessage(err);
      }
    }
    return obs;
  }

  private async snapshot(cam: Cam): Promise<string> {
    if (!this.snapshotUri) {
      await this.call('GetProfiles', (cb) => cam.getProfiles(cb));
      const token = (cam.profiles as Array<{ $?: { token?: string } }> | undefined)?.[0]?.$?.token;
      if (!token) throw new WardgateError('WG_ERR_CAMERA_SNAPSHOT', 'the camera has no media profile');
      const media = await this.call<{ uri?: string }>('GetSnapshotUri', (cb) =>
        cam.getSnapshotUri({ profileToken: token }, cb),
      );
      if (!media?.uri) throw new WardgateError('WG_ERR_CAMERA_SNAPSHOT', 'GetSnapshotUri returned no URI');
      this.snapshotUri = media.uri;
    }
    return this.fetchHash(this.snapshotUri);
  }

  /** GET the snapshot (Basic auth if configured; host and port stay ours, as for SOAP). */
  private fetchHash(uri: string): Promise<string> {
    const u = new URL(uri);
    const { username, password, host, port, timeoutMs } = this.target;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (username && password)
        headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
      const req = request({ host, port, path: `${u.pathname}${u.search}`, headers, agent: this.agent }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new WardgateError('WG_ERR_CAMERA_SNAPSHOT', `HTTP ${res.statusCode}`));
          return;
        }
        const hash = createHash('sha256');
        res.on('data', (c: Buffer) => hash.update(c));
        res.on('end', () => resolve(hash.digest('hex')));
        res.on('error', (err) => reject(new WardgateError('WG_ERR_CAMERA_SNAPSHOT', err.message, { cause: err })));
      });
      const timer = setTimeout(
        () => req.destroy(new WardgateError('WG_ERR_CAMERA_SNAPSHOT', `no snapshot after ${timeoutMs} ms`)),
        timeoutMs,
      );
      req.on('close', () => clearTimeout(timer));
      req.on('error', (err) =>
        reject(
          err instanceof WardgateError ? err : new WardgateError('WG_ERR_CAMERA_SNAPSHOT', err.message, { cause: err }),
        ),
      );
      req.end();
    });
  }

  private session(): Cam {
    if (!this.cam) {
      this.agent = new Agent({ keepAlive: true, maxSockets: 1 });
      this.cam = new (onvif().Cam)({
        hostname: this.target.host,
        port: this.target.port,
        username: this.target.username,
        password: this.target.password,
        timeout: this.target.timeoutMs,
        autoconnect: false,
        agent: this.agent,
      } as ConstructorParameters<typeof onvifLib.Cam>[0]);
      // The library emits 'warning' for degraded media; an EventEmitter 'error' without a listener
      // would throw, so both are absorbed here and the check's own result carries the problem.
      this.cam.on('error', () => undefined);
      this.cam.on('warning', () => undefined);
    }
    return this.cam;
  }

  private reset(): void {
    this.agent?.destroy();
    this.agent = undefined;
    this.cam?.removeAllListeners();
    this.cam = undefined;
    this.snapshotUri = undefined;
  }

  /** One library call: settled once, within our deadline, its error classified with a code. */
  private call<T>(action: string, run: (cb: (err: Error | null, data?: T, xml?: string) => void) => void): Promise<T> {
    if (this.closed) return Promise.reject(new WardgateError('WG_ERR_ONVIF_UNREACHABLE', `${action}: stopped`));
    return new Promise<T>((resolve, reject) => {
      let done = false;
      this.abortCall = (err) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        reject(err);
      };
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        // Destroying the agent closes the half-read socket; the next check makes a new session.
        this.agent?.destroy();
        reject(
          new WardgateError('WG_ERR_ONVIF_TIMEOUT', `${action}: no complete reply in ${this.target.timeoutMs} ms`),
        );
      }, this.target.timeoutMs);
      try {
        run((err, data, xml) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          if (err) reject(classify(action, err, xml));
          else resolve(data as T);
        });
      } catch (err) {
        done = true;
        clearTimeout(timer);
        reject(classify(action, err as Error, undefined));
      }
    });
  }

  private tcpReachable(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = connect({ host: this.target.host, port: this.target.port });
      const timer = setTimeout(() => {
        s.destroy();
        resolve(false);
      }, this.target.timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }
}

/** ONVIF Core §5.11.2: a refused WS-Security token is `ter:NotAuthorized` (HTTP 400), digest auth 401. */
function classify(action: string, err: Error, xml: string | undefined): WardgateError {
  const text = `${err.message} ${xml ?? ''}`.toLowerCase();
  if (/notauthorized|not authorized|authentication failed|unauthorized/.test(text)) {
    return new WardgateError('WG_ERR_ONVIF_AUTH', `${action}: ${err.message}`, { cause: err });
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENOTFOUND') {
    return new WardgateError('WG_ERR_ONVIF_UNREACHABLE', `${action}: ${err.message}`, { cause: err });
  }
  if (/network timeout/i.test(err.message)) {
    return new WardgateError('WG_ERR_ONVIF_TIMEOUT', `${action}: ${err.message}`, { cause: err });
  }
  return new WardgateError('WG_ERR_ONVIF_BAD_REPLY', `${action}: ${err.message}`, { cause: err });
}

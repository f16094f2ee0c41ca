// Walk test: a technician presses each button, opens each door, and the box proves it registered.
// While a test runs, events of its devices carry `data.test: true` and `data.walkTest: <id>` from
// the moment they are made (Agent.onModelEvent calls mark() before the event is durable), so the
// control room can tell them apart. A finished test is kept on the box as JSON in
// `<dataDir>/walk-tests/`, the newest `keep` of them (issue 11), for its report.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { WardgateError } from './errors.js';
import type { NewEvent, WgEvent } from './event.js';
import { uuidv7 } from './uuidv7.js';

export interface WalkTestActivation {
  type: string;
  ts: string;
  seq: number;
}

export interface WalkTestDevice {
  id: string;
  name?: string;
  location?: string;
  type: string;
  activations: WalkTestActivation[];
}

export interface WalkTestRun {
  id: string;
  gateway: string;
  site: string;
  ward: string;
  technician: string;
  startedAt: string;
  finishedAt: string | null;
  devices: WalkTestDevice[];
}

export interface WalkTestOptions {
  dir: string;
  keep: number;
  gateway: string;
  site: string;
  /** Every configured device (the default set of a test). */
  devices: () => Array<{ id: string; name?: string; location?: string; type: string }>;
  log: Logger;
}

/** Availability is not an activation: a device going offline during the test must not pass it. */
const NOT_ACTIVATION = new Set(['device.online', 'device.offline']);
const MAX_ACTIVATIONS = 20;
const ID = /^[0-9a-f-]{36}$/;

export class WalkTests {
  private current: WalkTestRun | undefined;
  private inTest = new Map<string, WalkTestDevice>();

  constructor(private readonly opts: WalkTestOptions) {}

  get active(): WalkTestRun | undefined {
    return this.current;
  }

  start(req: { devices?: string[]; technician: string; ward: string }): WalkTestRun {
    if (this.current) throw new WardgateError('WG_ERR_WALKTEST', `walk test ${this.current.id} is running`);
    const all = this.opts.devices();
    const wanted = req.devices && req.devices.length > 0 ? req.devices : all.map((d) => d.id);
    const unknown = wanted.filter((id) => !all.some((d) => d.id === id));
    if (unknown.length > 0)
      throw new WardgateError('WG_ERR_HTTP_NOT_FOUND', `unknown device(s): ${unknown.join(', ')}`);
    const devices = all
      .filter((d) => wanted.includes(d.id))
      .map((d) => ({
        id: d.id,
        type: d.type,
        ...(d.name ? { name: d.name } : {}),
        ...(d.location ? { location: d.location } : {}),
        activations: [],
      }));
    this.current = {
      id: uuidv7(),
      gateway: this.opts.gateway,
      site: this.opts.site,
      ward: req.ward.slice(0, 120),
      technician: req.technician.slice(0, 120),
      startedAt: new Date().toISOString(),
      finishedAt: null,
      devices,
    };
    this.inTest = new Map(devices.map((d) => [d.id, d]));
    this.opts.log.info({ walkTest: this.current.id, devices: devices.length }, 'walk test started');
    return this.current;
  }

  /** Called for every model event before it is made durable: one Map lookup when a test runs. */
  mark(ev: NewEvent): void {
    if (this.current === undefined || !this.inTest.has(ev.device)) return;
    ev.data = { ...ev.data, test: true, walkTest: this.current.id };
  }

  /** Durable events: the ones marked for the running test become its activations. */
  record(events: readonly WgEvent[]): boolean {
    const run = this.current;
    if (!run) return false;
    let changed = false;
    for (const ev of events) {
      if (ev.data.walkTest !== run.id || NOT_ACTIVATION.has(ev.type)) continue;
      const d = this.inTest.get(ev.device);
      if (!d || d.activations.length >= MAX_ACTIVATIONS) continue;
      d.activations.push({ type: ev.type, ts: ev.ts, seq: ev.seq });
      changed = true;
    }
    return changed;
  }

  /** End the running test, store it, forget the oldest beyond `keep`. */
  finish(): WalkTestRun {
    const run = this.current;
    if (!run) throw new WardgateError('WG_ERR_WALKTEST', 'no walk test is running');
    run.finishedAt = new Date().toISOString();
    this.current = undefined;
    this.inTest = new Map();
    try {
      mkdirSync(this.opts.dir, { recursive: true });
      writeFileSync(join(this.opts.dir, `${run.id}.json`), JSON.stringify(run));
      const stored = this.storedIds();
      for (const old of stored.slice(0, Math.max(0, stored.length - this.opts.keep)))
        rmSync(join(this.opts.dir, `${old}.json`), { force: true });
    } catch (err) {
      // The result is still returned (and downloadable now); only its keeping failed.
      this.opts.log.error({ code: 'WG_ERR_WALKTEST', err, walkTest: run.id }, 'walk test could not be stored');
    }
    const passed = run.devices.filter((d) => d.activations.length > 0).length;
    this.opts.log.info({ walkTest: run.id, passed, devices: run.devices.length }, 'walk test finished');
    return run;
  }

  /** Stored tests, oldest first (uuidv7 ids sort by time). */
  private storedIds(): string[] {
    try {
      return readdirSync(this.opts.dir)
        .filter((f) => f.endsWith('.json') && ID.test(f.slice(0, -5)))
        .map((f) => f.slice(0, -5))
        .sort();
    } catch {
      return []; // no directory yet: nothing stored
    }
  }

  /** Stored tests, newest first, without their activations. */
  list(): Array<{ id: string; startedAt: string; finishedAt: string | null; passed: number; devices: number }> {
    return this.storedIds()
      .reverse()
      .flatMap((id) => {
        const run = this.get(id);
        if (!run) return [];
        const passed = run.devices.filter((d) => d.activations.length > 0).length;
        return [{ id, startedAt: run.startedAt, finishedAt: run.finishedAt, passed, devices: run.devices.length }];
      });
  }

  /** The running test or a stored one; undefined for an unknown (or malformed) id. */
  get(id: string): WalkTestRun | undefined {
    if (this.current?.id === id) return this.current;
    if (!ID.test(id)) return undefined;
    try {
      return JSON.parse(readFileSync(join(this.opts.dir, `${id}.json`), 'utf8')) as WalkTestRun;
    } catch {
      return undefined; // unknown id (or a file removed by the bound): 404 for the caller
    }
  }
}

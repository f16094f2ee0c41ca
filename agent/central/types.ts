// What goes in and out of the central consumer's sequencer (issue 15): the event as the contract
// publishes it, the records the consumer hands on, and the sequencer's knobs.

export const LANES = ['critical', 'high', 'normal', 'low'] as const;
export type Lane = (typeof LANES)[number];

export interface CentralEvent {
  id: string;
  seq: number;
  gateway: string;
  severity: string;
  type: string;
  data?: Record<string, unknown>;
  [k: string]: unknown;
}

export type SeqOutput =
  | {
      kind: 'event';
      gateway: string;
      lane: Lane;
      seq: number;
      event: CentralEvent;
      /** Came after a later seq of its lane was released (or after its gap was called lost). */
      late?: true;
      /** Below the dedup window, or redelivered after a consumer restart: may repeat an earlier line. */
      possibleDuplicate?: true;
    }
  | {
      kind: 'gap';
      gateway: string;
      status: 'announced';
      from: number;
      to: number;
      reason: string;
      by: string;
      wasUnexplained?: true;
    }
  | { kind: 'gap'; gateway: string; status: 'unexplained'; from: number; to: number }
  | { kind: 'dropped'; gateway: string; reason: string; count: number; lanes: unknown; by: string };

export interface SequencerOptions {
  maxWaitMs: number;
  gapTimeoutMs: number;
  partial: boolean;
  windowSeqs: number;
  maxHeldPerLane: number;
  maxOpenHoles: number;
  /**
   * Treat a gateway first seen as starting at seq 1, so seqs below the first one seen are gaps to
   * classify. Right for a consumer that runs from a site's first day (its journal then remembers
   * every gateway); a consumer joining a running site leaves it off, or it would call everything
   * before its start unexplained.
   */
  fromSeqOne: boolean;
}

export const SEQUENCER_DEFAULTS: SequencerOptions = {
  maxWaitMs: 1000,
  gapTimeoutMs: 60_000,
  partial: false,
  windowSeqs: 1_000_000,
  maxHeldPerLane: 10_000,
  maxOpenHoles: 10_000,
  fromSeqOne: false,
};

export interface SequencerStats {
  received: number;
  released: number;
  duplicates: number;
  late: number;
  held: number;
  gateways: number;
}

export const laneOf = (severity: string): Lane =>
  (LANES as readonly string[]).includes(severity) ? (severity as Lane) : 'normal';

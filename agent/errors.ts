// Stable error codes, one place, like fastify's catalogue: the page, the logs and `health` show
// the code, and a technician can look it up in the README's error table.

export const ERRORS = {
  WG_ERR_CONFIG_INVALID: 'configuration is invalid',
  WG_ERR_SECRET_MISSING: 'a secret referenced by the configuration is missing',
  WG_ERR_OUTBOX_DISK_FULL: 'outbox disk is full; alarms are held in memory',
  WG_ERR_OUTBOX_CLOSED: 'outbox is closed',
  WG_ERR_OUTBOX_HELD_DROPPED: 'telemetry event dropped: too many events held while the disk refuses writes',
  WG_ERR_UPLINK_PUBLISH_REFUSED: 'the broker refused a publish (MQTT 5 reason code); the row is kept and retried',
  WG_ERR_UPLINK_CONNECT: 'broker connection failed',
  WG_ERR_UPLINK_PUBLISH: 'publish failed',
  WG_ERR_UPLINK_SESSION_TAKEN_OVER: 'another client took over this gateway’s MQTT session (same client id)',
  WG_ERR_UPLINK_HANDLER: 'an uplink event handler failed',
  WG_ERR_STOP_TIMEOUT: 'the agent did not stop in time',
  WG_ERR_DRIVER_START: 'driver failed to start',
  WG_ERR_DRIVER_FAULT: 'driver faulted',
  WG_ERR_DRIVER_STOP_TIMEOUT: 'driver did not stop in time',
  WG_ERR_GPIO_LINE: 'GPIO line error',
  WG_ERR_MODBUS_TIMEOUT: 'a Modbus unit did not answer within the bus timeout',
  WG_ERR_MODBUS_CRC: 'a Modbus RTU frame failed its CRC check (noise, wiring, two masters)',
  WG_ERR_MODBUS_EXCEPTION: 'a Modbus unit answered with an exception code (e.g. 2: illegal data address)',
  WG_ERR_MODBUS_BAD_FRAME: 'a Modbus reply was malformed (wrong length, unit id or function code)',
  WG_ERR_MODBUS_PORT: 'the Modbus bus is not connected (serial port gone, TCP connection refused or lost)',
  WG_ERR_MODBUS_OFFLINE: 'the Modbus unit is offline: the request was refused',
  WG_ERR_DOOR_UNLOCK_REFUSED: 'door unlock refused (no release output, or longer than the door’s maxUnlockSec)',
  WG_ERR_NUT_CONNECT: 'NUT server (upsd) unreachable or the connection dropped',
  WG_ERR_NUT_TIMEOUT: 'NUT server did not answer in time',
  WG_ERR_NUT_PROTOCOL: 'NUT server sent a line that is not valid NUT protocol',
  WG_ERR_NUT_REPLY: 'NUT server answered ERR (e.g. UNKNOWN-UPS, DATA-STALE, DRIVER-NOT-CONNECTED)',
  WG_ERR_NUT_AUTH: 'NUT server refused the username/password',
  WG_ERR_UPS_SHUTDOWN_COMMAND: 'the configured shutdown command failed',
  WG_ERR_ONVIF_UNREACHABLE: 'camera unreachable (no TCP connection)',
  WG_ERR_ONVIF_TIMEOUT: 'camera did not answer in time (TCP reachable)',
  WG_ERR_ONVIF_AUTH: 'camera refused the ONVIF credentials',
  WG_ERR_ONVIF_BAD_REPLY: 'camera answered something that is not a valid ONVIF reply',
  WG_ERR_CAMERA_SNAPSHOT: 'camera snapshot could not be fetched',
  WG_ERR_HEALTH_PROBE: 'a box health probe failed (value reported as unknown)',
  WG_ERR_SIM_NOT_SIMULATED: 'device is not on a sim backend',
  WG_ERR_HTTP_UNAUTHORIZED: 'authentication required',
  WG_ERR_HTTP_BAD_REQUEST: 'bad request',
  WG_ERR_HTTP_NOT_FOUND: 'not found',
  WG_ERR_HTTP_LOCKED_OUT: 'too many failed sign-ins; locked out for a while',
  WG_ERR_HTTP_CSRF: 'state change refused: missing or wrong CSRF token (reload the page)',
  WG_ERR_HTTP_BAD_HOST: 'request for a host name this box does not answer to',
  WG_ERR_HTTP_URI_TOO_LONG: 'request URL too long',
  WG_ERR_HTTP_CLIENT: 'malformed HTTP request',
  WG_ERR_HTTP_BUSY: 'too many sign-ins being checked at once; try again in a second',
  WG_ERR_HTTP_SSE_LIMIT: 'too many live event streams open',
  WG_ERR_WALKTEST: 'walk test refused (one is already running, or none is)',
  WG_ERR_HTTP_CONNECTION_LIMIT: 'web connection limit reached; new connections are refused',
  WG_ERR_HTTP_SERVER: 'web server error (e.g. accept failed: out of file descriptors)',
  WG_ERR_JOB_FAILED: 'a periodic job or event handler failed; it runs again at its next turn',
  WG_ERR_JOB_OVERLAP: 'a scheduled job was still running at its next turn; that turn was skipped',
  WG_ERR_SELF_TEST_FAILED: 'the daily self-test found a problem (see gateway.self_test items)',
  WG_ERR_RELOAD_INVALID: 'config reload refused: the new file is invalid; the agent keeps running the old one',
  WG_ERR_RELOAD_FAILED: 'config reload could not be applied in full; see the log for the part that failed',
  WG_ERR_OUTBOX_IN_USE: 'the outbox is open in a running wardgate: stop it first (systemctl stop wardgate)',
  WG_ERR_OUTBOX_IMPORT_NOT_EMPTY: 'refused: the outbox here holds events not yet delivered (--force sets them aside)',
  WG_ERR_OUTBOX_IMPORT_BAD_FILE: 'refused: the file is not a wardgate outbox export (or is damaged)',
  WG_ERR_OUTBOX_IMPORT_GATEWAY: 'refused: the export is from another gateway id than this config’s',
  WG_ERR_COMMAND: 'a command action or its bookkeeping failed (the command is answered with reason failed)',
  WG_ERR_COMMANDS_SUBSCRIBE: 'the broker refused the subscription to this gateway’s cmd/ topics (check its ACL)',
  WG_ERR_UNCAUGHT: 'an error escaped every handler (logged; the process decides to continue or restart)',
  WG_ERR_INTERNAL: 'internal error (see the log)',
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class WardgateError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${ERRORS[code]}: ${detail}` : ERRORS[code], options);
    this.code = code;
    this.name = 'WardgateError';
  }
}

export function errorCode(err: unknown): string | undefined {
  if (err instanceof WardgateError) return err.code;
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

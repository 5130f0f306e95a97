// Pieces shared by the HTTP adapters (load-shed.ts, readiness.ts). Not exported from sluice/http.

/** An error as one short line for stats: `Name: message`, at most 200 characters, never throws. */
export function briefMessage(error: unknown): string {
  let message: string;
  try {
    message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    message = 'unprintable error';
  }
  return message.length > 200 ? `${message.slice(0, 199)}…` : message;
}

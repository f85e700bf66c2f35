// Errors as the OpenAI API sends them: an HTTP status and { error: { message, type, param, code } },
// so that clients (the `openai` package) raise their own typed errors (BadRequestError, ...).
import type { ServerResponse } from "node:http";

export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly param: string | null = null, readonly code: string | null = null,
              readonly type = status === 429 ? "rate_limit_error" : status >= 500 ? "server_error" : status === 404 ? "not_found_error" : "invalid_request_error") {
    super(message);
  }
}

/** 400 for a request field: names the field, what was expected and what came. */
export function badParam(param: string, expected: string, got: unknown, code: string | null = "invalid_value"): HttpError {
  const shown = got === undefined ? "nothing" : JSON.stringify(got)?.slice(0, 80) ?? String(got);
  return new HttpError(400, `${param}: expected ${expected}, got ${shown}`, param, code);
}

export function sendError(res: ServerResponse, e: HttpError): void {
  if (res.headersSent) {
    res.end(); // mid-stream: the status is gone; end the stream
    return;
  }
  const body = JSON.stringify({ error: { message: e.message, type: e.type, param: e.param, code: e.code } });
  res.writeHead(e.status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

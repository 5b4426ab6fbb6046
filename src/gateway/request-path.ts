import { BadRequestError, ErrorCode } from '../errors.js';

/**
 * Decodes the raw request target the way the Pushgateway's Go server does: a bad `%` escape is
 * a 400, the path is percent-decoded (`%2F` becomes a separator, `+` stays a `+`), and trailing
 * slashes are kept. Paths whose raw form has empty, `.` or `..` segments are refused with a 400
 * naming the path, where upstream redirects (docs/api.md, "Differences from the Pushgateway"); as in
 * the newest upstream, percent-encoded ones (`%2E`, `%2F%2F`) are decoded and not cleaned.
 */
export function decodeRequestPath(rawUrl: string): string {
  const q = rawUrl.indexOf('?');
  const raw = q === -1 ? rawUrl : rawUrl.slice(0, q);
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) {
    throw new BadRequestError(ErrorCode.badPath, `invalid URL escape in path ${JSON.stringify(raw)}`);
  }
  if (/\/\/|\/\.\.?(\/|$)/.test(raw)) {
    throw new BadRequestError(
      ErrorCode.badPath,
      `path ${JSON.stringify(raw)} has an empty, "." or ".." segment; Lethe does not redirect: encode empty values as "<label>@base64/=" and values with "/" as "<label>@base64/<url-safe base64>"`,
    );
  }
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    throw new BadRequestError(ErrorCode.badPath, `path ${JSON.stringify(raw)} does not decode to valid UTF-8`);
  }
  if (!path.startsWith('/')) {
    throw new BadRequestError(ErrorCode.badPath, `path ${JSON.stringify(raw)} does not start with /`);
  }
  return path;
}

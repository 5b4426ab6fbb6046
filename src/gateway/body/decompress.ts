import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { BadRequestError, ErrorCode, PayloadTooLargeError, messageOf } from '../../errors.js';
import { decodeSnappyFramed } from './snappy.js';

const gunzipAsync = promisify(gunzip);

/** Reads the whole request body, refusing more than `limit` bytes (413 naming the limit). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw tooLarge(limit);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks);
}

function tooLarge(limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(ErrorCode.bodyTooLarge, `limit exceeded: request body larger than ${limit} bytes (--limits.body-bytes)`);
}

/**
 * Decodes the body by its Content-Encoding as the Pushgateway does: `gzip` and `snappy`
 * (framed), case-insensitively; any other value leaves the body as it is.
 */
export async function decodeBody(body: Buffer, contentEncoding: string | undefined, limit: number): Promise<Buffer> {
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding === 'gzip') {
    try {
      return await gunzipAsync(body, { maxOutputLength: limit });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limit);
      throw new BadRequestError(ErrorCode.badEncoding, `gzip: ${body.length === 0 ? 'EOF' : messageOf(err)}`);
    }
  }
  if (encoding === 'snappy') {
    const decoded = decodeSnappyFramed(body, limit);
    if (decoded.length > limit) throw tooLarge(limit);
    return Buffer.from(decoded);
  }
  return body;
}

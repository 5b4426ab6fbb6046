import type { Request, Response } from 'express';
import { BadRequestError, ErrorCode, ForbiddenError, PayloadTooLargeError } from '../../errors.js';
import { decodeProtobufDelimited, parseText } from '../../exposition/index.js';
import { parseGroupingKey, type GroupingKey, type MetricFamily, type PushMethod } from '../../model/index.js';
import { otherNamespaceError } from '../../store/index.js';
import { F } from '../../observability/index.js';
import { writeNamespace } from '../auth/authenticate.js';
import { decodeBody, readBody } from '../body/decompress.js';
import { checkHeap, checkQuotas } from '../quotas.js';
import type { GatewayDeps, Principal } from '../types.js';
import { deletionReporter } from './deletions.js';

export interface PushTarget {
  readonly jobSegment: string;
  readonly jobIsBase64: boolean;
  readonly rest: string;
}

const PROTOBUF_TYPE = 'application/vnd.google.protobuf';

/** True when the Content-Type names the delimited protobuf format (Go's mime rules). */
export function isDelimitedProtobuf(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [type = '', ...params] = contentType.split(';');
  if (type.trim().toLowerCase() !== PROTOBUF_TYPE) return false;
  const values = new Map<string, string>();
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq === -1) continue;
    values.set(param.slice(0, eq).trim().toLowerCase(), param.slice(eq + 1).trim().replace(/^"|"$/g, ''));
  }
  return values.get('proto') === 'io.prometheus.client.MetricFamily' && values.get('encoding') === 'delimited';
}

function checkLimits(deps: GatewayDeps, key: GroupingKey, families: readonly MetricFamily[]): void {
  const { limits } = deps.config;
  let series = 0;
  const refuse = (limit: string, code: string, message: string): never => {
    deps.metrics.limitRejections.inc({ limit });
    throw new PayloadTooLargeError(code, `limit exceeded: ${message}`);
  };
  // A string of n UTF-16 units is at most 3n bytes of UTF-8: only longer ones are measured.
  const tooLong = (text: string): boolean => text.length * 3 > limits.labelLength && Buffer.byteLength(text) > limits.labelLength;
  for (const family of families) {
    // Read once: a packed family builds its series on every read.
    const metrics = family.metrics;
    series += metrics.length;
    for (const metric of metrics) {
      if (metric.labels.length + key.labels.length + 1 > limits.labelsPerSeries) {
        refuse('labels_per_series', ErrorCode.tooManyLabels, `a series of ${family.name} has more than ${limits.labelsPerSeries} labels (--limits.labels-per-series)`);
      }
      for (const label of metric.labels) {
        if (tooLong(label.name) || tooLong(label.value)) {
          refuse('label_length', ErrorCode.labelTooLong, `label ${JSON.stringify(label.name.slice(0, 64))} of ${family.name} is longer than ${limits.labelLength} bytes (--limits.label-length)`);
        }
      }
    }
  }
  if (series > limits.seriesPerPush) {
    refuse('series_per_push', ErrorCode.tooManySeries, `${series} series in one push, more than ${limits.seriesPerPush} (--limits.series-per-push)`);
  }
  for (const label of key.labels) {
    if (tooLong(label.value)) {
      refuse('label_length', ErrorCode.labelTooLong, `grouping label ${label.name} is longer than ${limits.labelLength} bytes (--limits.label-length)`);
    }
  }
}

/** PUT (replace the group) and POST (replace same-name families). */
export function pushHandler(deps: GatewayDeps, method: PushMethod) {
  const log = deps.logger.child({ [F.component]: 'gateway' });
  return async (req: Request, res: Response, target: PushTarget, principal: Principal): Promise<void> => {
    const started = performance.now();
    const methodLabel = method.toLowerCase();
    try {
      const raw = await readBody(req, deps.config.limits.bodyBytes);
      const body = await decodeBody(raw, req.headers['content-encoding'], deps.config.limits.bodyBytes);
      deps.metrics.pushBytes.observe({ method: methodLabel }, body.length);
      const { utf8Names } = deps.config.push;
      const key = parseGroupingKey(target.jobSegment, target.jobIsBase64, target.rest, { utf8Names });
      const families = isDelimitedProtobuf(req.headers['content-type']) ? decodeProtobufDelimited(body) : parseText(body, { utf8Names });
      checkLimits(deps, key, families);
      const confined = writeNamespace(deps.config, principal);
      const attribution = await deps.attributor.attribute({
        remoteAddress: req.socket.remoteAddress ?? '',
        authorization: req.headers.authorization,
        principal,
      });
      if (confined !== undefined && attribution.namespace !== confined) {
        // Attribution follows the principal; anything else is a bug, and the push is not taken.
        throw new Error('attribution disagrees with the authenticated namespace');
      }
      // The store checks this again, atomically with the write; asking first keeps a quota answer from hiding the 403.
      const existing = confined === undefined ? undefined : deps.store.get(key);
      if (confined !== undefined && existing !== undefined && existing.attribution.namespace !== confined) {
        await guarded(deps, () => Promise.reject(otherNamespaceError(key)));
      }
      const request = { namespace: attribution.namespace, key, method, families };
      checkQuotas(deps, request);
      checkHeap(deps, request);
      const result = await guarded(deps, () =>
        deps.store.push({ key, method, families, attribution, ...(confined === undefined ? {} : { guard: { namespace: confined } }) }),
      );
      if (!deps.config.push.consistencyCheck) {
        res.status(202).end();
      } else if (result.ok) {
        res.status(200).end();
      } else {
        deps.metrics.pushesRejected.inc({ reason: 'inconsistent' });
        log.debug('Rejected push', { [F.groupingKey]: key.id, [F.reason]: result.reason });
        throw new BadRequestError(ErrorCode.inconsistentPush, `pushed metrics are invalid or inconsistent with existing metrics: ${result.reason}`);
      }
    } finally {
      deps.metrics.pushDuration.observe({ method: methodLabel }, (performance.now() - started) / 1000);
    }
  };
}

/**
 * DELETE: removes the group with exactly this grouping key; 202 even when it did not exist. With
 * authentication on, only a group of the caller's namespace (403 otherwise; admins: any). A group
 * that was there is logged and counted with reason api-delete.
 */
export function deleteHandler(deps: GatewayDeps) {
  const log = deps.logger.child({ [F.component]: 'gateway' });
  return async (req: Request, res: Response, target: PushTarget, principal: Principal): Promise<void> => {
    const raw = await readBody(req, deps.config.limits.bodyBytes);
    await decodeBody(raw, req.headers['content-encoding'], deps.config.limits.bodyBytes);
    const key = parseGroupingKey(target.jobSegment, target.jobIsBase64, target.rest, { utf8Names: deps.config.push.utf8Names });
    const confined = writeNamespace(deps.config, principal);
    const owner = deps.store.get(key)?.owner;
    const deleted = await guarded(deps, () => deps.store.delete(key, confined === undefined ? {} : { guard: { namespace: confined } }));
    if (deleted) deletionReporter(deps, log, 'api-delete', req, principal)(key, owner);
    res.status(202).end();
  };
}

/** Counts the store's refusal of another namespace's group before it becomes the 403. */
async function guarded<T>(deps: GatewayDeps, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof ForbiddenError && err.code === ErrorCode.otherNamespace) deps.metrics.authFailures.inc({ reason: 'other_namespace' });
    throw err;
  }
}

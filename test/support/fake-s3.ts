import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeNow } from './loopback.js';

/**
 * A local S3-compatible server for tests: path-style PutObject, GetObject, HeadObject,
 * DeleteObject and ListObjectsV2 on in-memory buckets, errors as S3's XML, and AWS Signature V4
 * checked for real (a request signed with another secret is refused as S3 refuses it). It
 * records every request and can be told to fail the next ones, to test retries.
 */
export interface FakeS3Options {
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  buckets?: string[];
  /** Most keys one ListObjectsV2 page holds (S3 may return fewer than max-keys); default 1000. */
  pageSize?: number;
}

interface StoredObject {
  body: Buffer;
  contentType: string;
  etag: string;
  lastModified: Date;
}

export interface RecordedS3Request {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
}

export interface FakeS3 {
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  requests: RecordedS3Request[];
  objects(bucket: string): Map<string, StoredObject>;
  /** The next `count` requests are answered with this status and S3 error code. */
  failNext(count: number, status: number, code: string): void;
  close(): Promise<void>;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
/** RFC 3986 encoding, as SigV4 canonical query strings use it. */
const encode = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const xmlEscape = (value: string) => value.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startFakeS3(options: FakeS3Options = {}): Promise<FakeS3> {
  const accessKeyId = options.accessKeyId ?? 'AKIATESTATELIER';
  const secretAccessKey = options.secretAccessKey ?? 'test-secret-key-for-atelier';
  const region = options.region ?? 'us-east-1';
  const buckets = new Map<string, Map<string, StoredObject>>((options.buckets ?? ['atelier']).map((name) => [name, new Map()]));
  const requests: RecordedS3Request[] = [];
  let failures: { count: number; status: number; code: string } | undefined;

  function sendError(res: ServerResponse, status: number, code: string, message: string, resource: string, head = false) {
    res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': 'fake' });
    res.end(
      head
        ? undefined
        : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message><Resource>${xmlEscape(resource)}</Resource><RequestId>fake</RequestId></Error>`,
    );
  }

  /** Undefined when the signature holds; otherwise the S3 error code and message. */
  function checkSignature(req: IncomingMessage, rawPath: string, rawQuery: string, body: Buffer): [string, string] | undefined {
    const authorization = req.headers.authorization;
    const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      authorization ?? '',
    );
    if (!match) return ['AccessDenied', 'Missing or malformed AWS Signature Version 4 authorization'];
    const [, keyId, date, signedRegion, signedHeaders, signature] = match as unknown as [string, string, string, string, string, string];
    if (keyId !== accessKeyId) return ['InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'];
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    const payloadHash = String(req.headers['x-amz-content-sha256'] ?? '');
    if (!amzDate.startsWith(date) || !payloadHash) return ['AccessDenied', 'x-amz-date and x-amz-content-sha256 are required'];
    if (/^[0-9a-f]{64}$/.test(payloadHash) && payloadHash !== sha256(body)) {
      return ['XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.'];
    }
    const canonicalQuery = rawQuery
      .split('&')
      .filter(Boolean)
      .map((pair) => {
        const eq = pair.indexOf('=');
        const name = decodeURIComponent(eq === -1 ? pair : pair.slice(0, eq));
        const value = eq === -1 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, '%20'));
        return [encode(name), encode(value)] as const;
      })
      .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
      .map(([name, value]) => `${name}=${value}`)
      .join('&');
    const canonicalHeaders = signedHeaders
      .split(';')
      .map((name) => {
        const value = req.headers[name];
        return `${name}:${(Array.isArray(value) ? value.join(',') : (value ?? '')).trim().replace(/\s+/g, ' ')}\n`;
      })
      .join('');
    const canonicalRequest = [req.method, rawPath, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
    const scope = `${date}/${signedRegion}/s3/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
    const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), signedRegion), 's3'), 'aws4_request');
    const expected = createHmac('sha256', key).update(stringToSign).digest();
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
      return ['SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.'];
    }
    if (signedRegion !== region) return ['AuthorizationHeaderMalformed', `the region '${signedRegion}' is wrong; expecting '${region}'`];
    return undefined;
  }

  function list(res: ServerResponse, bucketName: string, objects: Map<string, StoredObject>, query: URLSearchParams) {
    const prefix = query.get('prefix') ?? '';
    const maxKeys = Math.min(Number(query.get('max-keys') ?? 1000) || 1000, options.pageSize ?? 1000);
    const after = query.get('continuation-token') ?? query.get('start-after') ?? '';
    const keys = [...objects.keys()].filter((key) => key.startsWith(prefix) && key > after).sort();
    const page = keys.slice(0, maxKeys);
    const truncated = keys.length > page.length;
    const contents = page
      .map((key) => {
        const object = objects.get(key)!;
        return `<Contents><Key>${xmlEscape(key)}</Key><LastModified>${object.lastModified.toISOString()}</LastModified><ETag>${object.etag}</ETag><Size>${object.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
      })
      .join('');
    res.writeHead(200, { 'content-type': 'application/xml' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlEscape(bucketName)}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${
        truncated ? `<NextContinuationToken>${xmlEscape(page.at(-1)!)}</NextContinuationToken>` : ''
      }</ListBucketResult>`,
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const rawUrl = req.url ?? '/';
    const queryStart = rawUrl.indexOf('?');
    const rawPath = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
    const rawQuery = queryStart === -1 ? '' : rawUrl.slice(queryStart + 1);
    const query = new URLSearchParams(rawQuery);
    requests.push({ method: req.method ?? '', path: rawPath, query, headers: req.headers });
    const head = req.method === 'HEAD';

    if (failures && failures.count > 0) {
      failures.count -= 1;
      return sendError(res, failures.status, failures.code, 'injected failure', rawPath, head);
    }
    const refusal = checkSignature(req, rawPath, rawQuery, body);
    if (refusal) return sendError(res, 403, refusal[0], refusal[1], rawPath, head);

    // Path style only: /bucket/key. The key is percent-decoded once, as S3 does.
    const [, bucketName = '', ...rest] = rawPath.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const objects = buckets.get(decodeURIComponent(bucketName));
    if (!objects) return sendError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist', rawPath, head);

    if (!key) {
      if (req.method === 'GET' && query.get('list-type') === '2') return list(res, bucketName, objects, query);
      return sendError(res, 501, 'NotImplemented', 'only ListObjectsV2 is implemented on a bucket', rawPath, head);
    }
    switch (req.method) {
      case 'PUT': {
        const etag = `"${createHash('md5').update(body).digest('hex')}"`;
        objects.set(key, { body, contentType: String(req.headers['content-type'] ?? 'binary/octet-stream'), etag, lastModified: new Date() });
        res.writeHead(200, { etag });
        return res.end();
      }
      case 'GET':
      case 'HEAD': {
        const object = objects.get(key);
        if (!object) return sendError(res, 404, 'NoSuchKey', 'The specified key does not exist.', rawPath, head);
        res.writeHead(200, {
          'content-type': object.contentType,
          'content-length': object.body.length,
          etag: object.etag,
          'last-modified': object.lastModified.toUTCString(),
        });
        return res.end(head ? undefined : object.body);
      }
      case 'DELETE':
        objects.delete(key);
        res.writeHead(204);
        return res.end();
      default:
        return sendError(res, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', rawPath);
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendError(res, 500, 'InternalError', String(error), req.url ?? ''));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    accessKeyId,
    secretAccessKey,
    region,
    requests,
    objects: (bucket) => buckets.get(bucket) ?? new Map(),
    failNext: (count, status, code) => (failures = { count, status, code }),
    close: () => closeNow(server),
  };
}

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { databaseTargetFrom } from '../../src/db/connection.js';

describe('database and image storage configuration', () => {
  it('without DATABASE_URL the embedded database under ./data is used', () => {
    expect(databaseTargetFrom(parseConfig({}))).toEqual({ dataDir: 'data/postgres' });
    expect(databaseTargetFrom(parseConfig({ DATABASE_URL: 'postgres://atelier@db:5432/atelier' }))).toEqual({
      url: 'postgres://atelier@db:5432/atelier',
    });
  });

  it('names the variable that is wrong', () => {
    expect(() => parseConfig({ DATABASE_URL: 'mysql://db/atelier' })).toThrow(/DATABASE_URL: must be a postgres:\/\/ URL/);
    expect(() => parseConfig({ S3_BUCKET: 'Not_A_Bucket' })).toThrow(/S3_BUCKET/);
    expect(() => parseConfig({ S3_BUCKET: 'atelier', S3_FORCE_PATH_STYLE: 'sometimes' })).toThrow(/S3_FORCE_PATH_STYLE/);
    expect(() => parseConfig({ S3_BUCKET: 'atelier', S3_ENDPOINT: 'not a url' })).toThrow(/S3_ENDPOINT/);
  });

  it('refuses half an S3 setup instead of quietly keeping images on disk', () => {
    expect(() => parseConfig({ S3_ENDPOINT: 'http://minio:9000' })).toThrow(/S3_BUCKET: required when S3_ENDPOINT/);
    expect(() => parseConfig({ S3_BUCKET: 'atelier', S3_ACCESS_KEY_ID: 'key' })).toThrow(/S3_SECRET_ACCESS_KEY/);
    expect(() => parseConfig({ S3_BUCKET: 'atelier', S3_SECRET_ACCESS_KEY: 'secret' })).toThrow(/S3_ACCESS_KEY_ID/);
  });

  it('reads S3_FORCE_PATH_STYLE as a boolean and S3_REGION with a default', () => {
    expect(parseConfig({ S3_BUCKET: 'atelier', S3_FORCE_PATH_STYLE: 'true' })).toMatchObject({ S3_FORCE_PATH_STYLE: true, S3_REGION: 'us-east-1' });
    expect(parseConfig({ S3_BUCKET: 'atelier', S3_REGION: 'auto' })).toMatchObject({ S3_FORCE_PATH_STYLE: false, S3_REGION: 'auto' });
  });
});

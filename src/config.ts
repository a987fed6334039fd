import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';

const bool = z
  .union([z.boolean(), z.enum(['1', '0', 'true', 'false', 'yes', 'no', ''])])
  .transform((v) => v === true || v === '1' || v === 'true' || v === 'yes');
const int = (min: number) => z.coerce.number().int().min(min);

/** Every setting, read once from the environment (and CLI flags mapped onto the same names). */
export const configSchema = z.object({
  RECON_DATA_DIR: z.string().default('./data'),
  HOST: z.string().default('127.0.0.1'),
  PORT: int(0).max(65535).default(3000),
  DATABASE_URL: z.string().url().optional(),
  RECON_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  RECON_TEST_ENGINES: bool.default(false),
  /** Runs processed at once per engine, per process. */
  RECON_ENGINE_CONCURRENCY: int(1).default(2),
  /** Attempts per run when an engine reports a transient failure. */
  RECON_MAX_ATTEMPTS: int(1).default(4),
  RECON_RETRY_BASE_MS: int(1).default(2000),
  RECON_RETRY_MAX_MS: int(1).default(120_000),
  RECON_WORKERS: bool.default(true),
  RECON_MAX_RUN_SECONDS: int(1).default(6 * 3600),
  MAX_IMAGES: int(1).default(500),
  MAX_FILE_BYTES: int(1).default(100 * 1024 * 1024),
  MAX_RUN_BYTES: int(1).default(4 * 1024 * 1024 * 1024),
  /** Runs one key (or, without keys, the local user) may have queued or running at once. */
  MAX_QUEUED_RUNS_PER_KEY: int(1).default(20),
  /** Uploads are refused (507) when the data folder's disk has less free space than this. */
  RECON_MIN_FREE_DISK_BYTES: int(0).default(512 * 1024 * 1024),
  /** Admin keys given by the environment (comma-separated, at least 32 characters each). */
  RECON_API_KEYS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((k) => k.trim()).filter(Boolean))
    .pipe(z.array(z.string().min(32, 'each RECON_API_KEYS key needs at least 32 characters'))),
  /** Serve without API keys on a non-loopback HOST (refused at start-up otherwise). */
  RECON_INSECURE_NO_AUTH: bool.default(false),
  /** Requests per key (or per IP without one) per window, on every route; 0 turns rate limiting off. */
  RECON_RATE_LIMIT_MAX: int(0).default(600),
  RECON_RATE_LIMIT_WINDOW_MS: int(1000).default(60_000),
  /** Run creations (POST /api/runs, reruns) per key per hour. */
  RECON_RATE_LIMIT_RUNS_PER_HOUR: int(1).default(120),
  /** Preview image, input thumbnails, GLB metadata and compression after each successful run. */
  RECON_POSTPROCESS: bool.default(true),
  RECON_PREVIEW_WIDTH: int(64).max(8192).default(1024),
  /** GLBs larger than this also get a meshopt-compressed copy (artifact glb-compressed). */
  RECON_COMPRESS_GLB_BYTES: int(0).default(4 * 1024 * 1024),
  /** Seconds before each delivery attempt (the first is usually 0); the Standard Webhooks schedule by default. */
  RECON_WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .default('0,5,300,1800,7200,18000,36000,36000')
    .transform((s) => s.split(',').map((v) => Number(v.trim())))
    .pipe(z.array(z.number().min(0).max(7 * 86400)).min(1)),
  /** Allow webhook targets on loopback, private, link-local or metadata addresses (SSRF guard off). */
  RECON_WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  RECON_WEBHOOK_TIMEOUT_MS: int(100).default(10_000),
  /** At most one run.progress delivery per run in this interval. */
  RECON_WEBHOOK_PROGRESS_INTERVAL_MS: int(0).default(5000),
  /** Interactive sessions (WebSocket): how many may exist at once, and when an idle one is removed. */
  RECON_MAX_SESSIONS: int(1).default(100),
  RECON_SESSION_IDLE_MS: int(100).default(3600_000),
  RECON_SESSION_SWEEP_MS: int(50).default(300_000),
  RECON_SESSION_MAX_MESSAGE_BYTES: int(1024).default(64 * 1024 * 1024),
  /** Hugging Face token for the vggt-space engine (your account's GPU quota; private Spaces). */
  HF_TOKEN: z.string().min(1).optional(),
  /** The VGGT Space: a Space id (default facebook/vggt) or the URL of any Gradio app serving the VGGT demo. */
  VGGT_SPACE: z.string().min(1).optional(),
  /** A GPU-quota refusal is retried when the Space frees up within this many seconds; beyond, the run fails. */
  VGGT_SPACE_MAX_QUOTA_WAIT_SECONDS: int(0).default(3600),
  /** vggt-local: a VGGT checkpoint file or a Hugging Face model id (e.g. facebook/VGGT-1B); unset = engine unusable. */
  VGGT_WEIGHTS: z.string().min(1).optional(),
  /** The Python that has torch and vggt installed (runs src/engines/vggt-local/worker.py). */
  VGGT_PYTHON: z.string().min(1).default('python3'),
  /** A vggt-local request that takes longer than this is stopped (the worker is restarted). */
  VGGT_WORKER_TIMEOUT_SECONDS: int(1).default(900),
  /** Loading the model (a first hub download included) may take this long. */
  VGGT_LOAD_TIMEOUT_SECONDS: int(1).default(1800),
  /** Let vggt-local run on the CPU when torch sees no CUDA GPU (very slow; off by default). */
  VGGT_ALLOW_CPU: bool.default(false),
  /** da3: base URL of a Depth Anything 3 backend (python -m depth_anything_3.services.backend). */
  DA3_URL: z.string().url().optional(),
  /** The folder Recon stages da3 inputs and outputs in (default: the run's work folder); must be shared with the backend. */
  DA3_SHARED_DIR: z.string().min(1).optional(),
  /** The same folder as the DA3 backend sees it (when it is mounted elsewhere there, e.g. in a container). */
  DA3_BACKEND_DIR: z.string().min(1).optional(),
  DA3_POLL_INTERVAL_MS: int(10).default(1000),
  /** A da3 task that is not done after this long fails the run. */
  DA3_TIMEOUT_SECONDS: int(1).default(1800),
  /** Keep run files in this S3 bucket instead of the data folder (what several machines share). */
  S3_BUCKET: z.string().min(3).max(63).optional(),
  /** The S3-compatible service (MinIO, R2, Garage, …); unset = AWS S3 in S3_REGION. */
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().min(1).optional(),
  /** Every key starts with this (e.g. `recon/`), so Recon can share a bucket. */
  S3_PREFIX: z
    .string()
    .default('')
    .refine((p) => !p.startsWith('/') && !p.split('/').some((part) => part === '.' || part === '..'), 'no leading "/" and no "." or ".." parts'),
  /** Path-style URLs (`endpoint/bucket/key`); on by default with S3_ENDPOINT, as most self-hosted services need. */
  S3_FORCE_PATH_STYLE: bool.optional(),
  /** Credentials for S3 only; without them the standard AWS chain is used (AWS_ACCESS_KEY_ID, profiles, instance roles). */
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** `proxy`: artifacts stream through Recon; `redirect`: 302 to a short-lived presigned URL of the bucket. */
  S3_DOWNLOADS: z.enum(['proxy', 'redirect']).default('proxy'),
  S3_PRESIGN_SECONDS: int(1).max(7 * 24 * 3600).default(300),
  /** Multipart part size and parts in flight per upload: the memory one upload may hold is about their product. */
  S3_PART_BYTES: int(5 * 1024 * 1024).max(5 * 1024 * 1024 * 1024).default(8 * 1024 * 1024),
  S3_PART_CONCURRENCY: int(1).max(64).default(4),
  /** What this process calls itself in GET /api/workers and in each run it takes (default: the host name). */
  RECON_WORKER_NAME: z.string().min(1).max(100).optional(),
  /** A worker that stops beating this long (killed, machine lost) loses its runs to another worker; also its presence beat. */
  RECON_JOB_HEARTBEAT_SECONDS: int(10).max(3600).default(30),
  /** How often the queue looks for jobs whose worker stopped beating. */
  RECON_QUEUE_SUPERVISE_SECONDS: int(1).max(3600).default(60),
  /** How often the server sweeps blobs that no committed row mentions (crash leftovers). */
  RECON_BLOB_SWEEP_SECONDS: int(1).default(3600),
  /** Staged blobs and upload reservations older than this are taken for crash leftovers by the sweep. */
  RECON_STAGING_MAX_AGE_SECONDS: int(60).default(24 * 3600),
  /** fal.ai key for defect blueprints (image generation, suggestions, prompt evolution); unset = generation off. */
  FAL_KEY: z.string().min(1).optional(),
  /** fal's hosts, replaceable by a gateway, a proxy or a local stand-in. */
  FAL_QUEUE_URL: z.string().url().default('https://queue.fal.run'),
  FAL_REST_URL: z.string().url().default('https://rest.fal.ai'),
  FAL_JWKS_URL: z.string().url().default('https://rest.alpha.fal.ai/.well-known/jwks.json'),
  /** Where fal can reach this server (webhooks go to <RECON_PUBLIC_URL>/api/fal/webhook); unset = polling only. */
  RECON_PUBLIC_URL: z.string().url().optional(),
  /** The image endpoint new blueprints generate with. */
  FAL_IMAGE_ENDPOINT: z.string().min(3).default('fal-ai/flux-pro/v1/fill'),
  /** A vision-language endpoint for defect suggestions (e.g. openrouter/router/vision); unset = suggestions off. */
  FAL_VLM_ENDPOINT: z.string().min(3).optional(),
  FAL_VLM_MODEL: z.string().min(1).optional(),
  /** A language endpoint for prompt evolution (e.g. openrouter/router); unset = evolution off. */
  FAL_LLM_ENDPOINT: z.string().min(3).optional(),
  FAL_LLM_MODEL: z.string().min(1).optional(),
  /** fal requests one process keeps in flight at once. */
  FAL_CONCURRENCY: int(1).max(256).default(8),
  FAL_POLL_MS: int(10).default(1000),
  FAL_POLL_MAX_MS: int(10).default(15_000),
  /** A request without a result this long after submitting is cancelled and fails. */
  FAL_DEADLINE_SECONDS: int(1).default(1800),
  FAL_MAX_ATTEMPTS: int(1).default(4),
  /** After a crash mid-submit, how long to wait for the request's webhook before submitting again. */
  FAL_ORPHAN_GRACE_SECONDS: int(0).default(300),
  FAL_MAX_DOWNLOAD_BYTES: int(1024).default(64 * 1024 * 1024),
  /** Limits on what one key's blueprints may hold. */
  BLUEPRINT_MAX_PER_KEY: int(1).default(200),
  BLUEPRINT_MAX_OBJECTS: int(1).default(50),
  BLUEPRINT_MAX_DEFECTS: int(1).default(30),
  BLUEPRINT_MAX_REGIONS: int(1).default(1000),
  BLUEPRINT_MAX_GENERATIONS: int(1).default(2000),
  BLUEPRINT_MAX_BYTES: int(1).default(2 * 1024 * 1024 * 1024),
  /** Photos larger than this many pixels are refused (decoding bombs). */
  BLUEPRINT_MAX_PIXELS: int(1).default(40_000_000),
  /** What an hour of this worker process costs (any currency); each stage records seconds × this rate. */
  RECON_WORKER_COST_PER_HOUR: z.coerce.number().min(0).max(1_000_000).default(0),
  /** The engines this process's worker takes jobs for (comma-separated; unset = all it can run): a CPU box `colmap,splat-scene,…`, a GPU box `splat-train`. */
  RECON_WORKER_ENGINES: z
    .string()
    .optional()
    .transform((s) => (s ? s.split(',').map((e) => e.trim()).filter(Boolean) : undefined)),
});

export interface Config {
  dataDir: string;
  host: string;
  port: number;
  databaseUrl: string | undefined;
  logLevel: z.infer<typeof configSchema>['RECON_LOG_LEVEL'];
  testEngines: boolean;
  engineConcurrency: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  runWorkers: boolean;
  maxRunSeconds: number;
  limits: { maxImages: number; maxFileBytes: number; maxRunBytes: number; maxQueuedRunsPerKey: number; minFreeDiskBytes: number };
  auth: { envKeys: string[]; insecureNoAuth: boolean };
  rateLimits: { max: number; windowMs: number; runsPerHour: number };
  postprocess: { enabled: boolean; previewWidth: number; compressGlbBytes: number };
  webhooks: { retryScheduleMs: number[]; allowPrivate: boolean; timeoutMs: number; progressIntervalMs: number };
  sessions: { maxSessions: number; idleTimeoutMs: number; sweepIntervalMs: number; maxMessageBytes: number };
  /** vggt-space: `configured` when HF_TOKEN or VGGT_SPACE was set (it is then the default engine). */
  vggtSpace: { space: string; token: string | undefined; maxQuotaWaitMs: number; configured: boolean };
  /** vggt-local: `weights` unset means the engine is listed but unusable. */
  vggtLocal: { weights: string | undefined; python: string; timeoutMs: number; loadTimeoutMs: number; allowCpu: boolean };
  /** da3: `url` unset means the engine is listed but unusable. */
  da3: { url: string | undefined; sharedDir: string | undefined; backendDir: string | undefined; pollIntervalMs: number; timeoutMs: number };
  /** Unset: run files live in the data folder. */
  s3: S3Config | undefined;
  workers: { name: string; heartbeatSeconds: number; superviseSeconds: number };
  blobSweep: { intervalMs: number; stagingMaxAgeMs: number };
  /** fal.ai for defect blueprints: `key` unset means generation is off. */
  fal: {
    key: string | undefined;
    queueUrl: string;
    restUrl: string;
    jwksUrl: string;
    imageEndpoint: string;
    vlmEndpoint: string | undefined;
    vlmModel: string | undefined;
    llmEndpoint: string | undefined;
    llmModel: string | undefined;
    concurrency: number;
    pollMs: number;
    pollMaxMs: number;
    deadlineMs: number;
    maxAttempts: number;
    orphanGraceMs: number;
    maxDownloadBytes: number;
  };
  publicUrl: string | undefined;
  blueprints: { maxPerKey: number; maxObjects: number; maxDefects: number; maxRegions: number; maxGenerations: number; maxBytes: number; maxPixels: number };
  workerCostPerHour: number;
  /** Unset: every engine this process can run. */
  workerEngines: string[] | undefined;
}

export interface S3Config {
  bucket: string;
  endpoint: string | undefined;
  region: string;
  prefix: string;
  forcePathStyle: boolean;
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  downloads: 'proxy' | 'redirect';
  presignSeconds: number;
  partBytes: number;
  partConcurrency: number;
}

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid configuration — ${problems}`);
  }
  const c = parsed.data;
  return {
    dataDir: resolve(c.RECON_DATA_DIR),
    host: c.HOST,
    port: c.PORT,
    databaseUrl: c.DATABASE_URL,
    logLevel: c.RECON_LOG_LEVEL,
    testEngines: c.RECON_TEST_ENGINES,
    engineConcurrency: c.RECON_ENGINE_CONCURRENCY,
    maxAttempts: c.RECON_MAX_ATTEMPTS,
    retryBaseMs: c.RECON_RETRY_BASE_MS,
    retryMaxMs: c.RECON_RETRY_MAX_MS,
    runWorkers: c.RECON_WORKERS,
    maxRunSeconds: c.RECON_MAX_RUN_SECONDS,
    limits: {
      maxImages: c.MAX_IMAGES,
      maxFileBytes: c.MAX_FILE_BYTES,
      maxRunBytes: c.MAX_RUN_BYTES,
      maxQueuedRunsPerKey: c.MAX_QUEUED_RUNS_PER_KEY,
      minFreeDiskBytes: c.RECON_MIN_FREE_DISK_BYTES,
    },
    auth: { envKeys: c.RECON_API_KEYS, insecureNoAuth: c.RECON_INSECURE_NO_AUTH },
    rateLimits: { max: c.RECON_RATE_LIMIT_MAX, windowMs: c.RECON_RATE_LIMIT_WINDOW_MS, runsPerHour: c.RECON_RATE_LIMIT_RUNS_PER_HOUR },
    postprocess: { enabled: c.RECON_POSTPROCESS, previewWidth: c.RECON_PREVIEW_WIDTH, compressGlbBytes: c.RECON_COMPRESS_GLB_BYTES },
    webhooks: {
      retryScheduleMs: c.RECON_WEBHOOK_RETRY_SCHEDULE.map((seconds) => Math.round(seconds * 1000)),
      allowPrivate: c.RECON_WEBHOOK_ALLOW_PRIVATE,
      timeoutMs: c.RECON_WEBHOOK_TIMEOUT_MS,
      progressIntervalMs: c.RECON_WEBHOOK_PROGRESS_INTERVAL_MS,
    },
    sessions: {
      maxSessions: c.RECON_MAX_SESSIONS,
      idleTimeoutMs: c.RECON_SESSION_IDLE_MS,
      sweepIntervalMs: c.RECON_SESSION_SWEEP_MS,
      maxMessageBytes: c.RECON_SESSION_MAX_MESSAGE_BYTES,
    },
    vggtSpace: {
      space: c.VGGT_SPACE ?? 'facebook/vggt',
      token: c.HF_TOKEN,
      maxQuotaWaitMs: c.VGGT_SPACE_MAX_QUOTA_WAIT_SECONDS * 1000,
      configured: !!(c.HF_TOKEN || c.VGGT_SPACE),
    },
    vggtLocal: {
      weights: c.VGGT_WEIGHTS,
      python: c.VGGT_PYTHON,
      timeoutMs: c.VGGT_WORKER_TIMEOUT_SECONDS * 1000,
      loadTimeoutMs: c.VGGT_LOAD_TIMEOUT_SECONDS * 1000,
      allowCpu: c.VGGT_ALLOW_CPU,
    },
    da3: {
      url: c.DA3_URL,
      sharedDir: c.DA3_SHARED_DIR && resolve(c.DA3_SHARED_DIR),
      backendDir: c.DA3_BACKEND_DIR,
      pollIntervalMs: c.DA3_POLL_INTERVAL_MS,
      timeoutMs: c.DA3_TIMEOUT_SECONDS * 1000,
    },
    s3: s3Config(c, env),
    workers: { name: c.RECON_WORKER_NAME ?? hostname(), heartbeatSeconds: c.RECON_JOB_HEARTBEAT_SECONDS, superviseSeconds: c.RECON_QUEUE_SUPERVISE_SECONDS },
    blobSweep: { intervalMs: c.RECON_BLOB_SWEEP_SECONDS * 1000, stagingMaxAgeMs: c.RECON_STAGING_MAX_AGE_SECONDS * 1000 },
    fal: {
      key: c.FAL_KEY,
      queueUrl: c.FAL_QUEUE_URL,
      restUrl: c.FAL_REST_URL,
      jwksUrl: c.FAL_JWKS_URL,
      imageEndpoint: c.FAL_IMAGE_ENDPOINT,
      vlmEndpoint: c.FAL_VLM_ENDPOINT,
      vlmModel: c.FAL_VLM_MODEL,
      llmEndpoint: c.FAL_LLM_ENDPOINT,
      llmModel: c.FAL_LLM_MODEL,
      concurrency: c.FAL_CONCURRENCY,
      pollMs: c.FAL_POLL_MS,
      pollMaxMs: c.FAL_POLL_MAX_MS,
      deadlineMs: c.FAL_DEADLINE_SECONDS * 1000,
      maxAttempts: c.FAL_MAX_ATTEMPTS,
      orphanGraceMs: c.FAL_ORPHAN_GRACE_SECONDS * 1000,
      maxDownloadBytes: c.FAL_MAX_DOWNLOAD_BYTES,
    },
    publicUrl: c.RECON_PUBLIC_URL,
    blueprints: {
      maxPerKey: c.BLUEPRINT_MAX_PER_KEY,
      maxObjects: c.BLUEPRINT_MAX_OBJECTS,
      maxDefects: c.BLUEPRINT_MAX_DEFECTS,
      maxRegions: c.BLUEPRINT_MAX_REGIONS,
      maxGenerations: c.BLUEPRINT_MAX_GENERATIONS,
      maxBytes: c.BLUEPRINT_MAX_BYTES,
      maxPixels: c.BLUEPRINT_MAX_PIXELS,
    },
    workerCostPerHour: c.RECON_WORKER_COST_PER_HOUR,
    workerEngines: c.RECON_WORKER_ENGINES,
  };
}

function s3Config(c: z.infer<typeof configSchema>, env: Record<string, string | undefined>): S3Config | undefined {
  if (!c.S3_BUCKET) {
    const stray = (['S3_ENDPOINT', 'S3_PREFIX', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const).filter((name) => env[name]);
    if (stray.length) throw new ConfigError(`${stray.join(', ')} set without S3_BUCKET: set S3_BUCKET to keep run files in S3, or unset them`);
    return undefined;
  }
  if (!c.S3_ACCESS_KEY_ID !== !c.S3_SECRET_ACCESS_KEY) {
    throw new ConfigError('Set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither (then the standard AWS credentials are used)');
  }
  return {
    bucket: c.S3_BUCKET,
    endpoint: c.S3_ENDPOINT,
    region: c.S3_REGION ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    prefix: c.S3_PREFIX && !c.S3_PREFIX.endsWith('/') ? `${c.S3_PREFIX}/` : c.S3_PREFIX,
    forcePathStyle: c.S3_FORCE_PATH_STYLE ?? !!c.S3_ENDPOINT,
    credentials: c.S3_ACCESS_KEY_ID && c.S3_SECRET_ACCESS_KEY ? { accessKeyId: c.S3_ACCESS_KEY_ID, secretAccessKey: c.S3_SECRET_ACCESS_KEY } : undefined,
    downloads: c.S3_DOWNLOADS,
    presignSeconds: c.S3_PRESIGN_SECONDS,
    partBytes: c.S3_PART_BYTES,
    partConcurrency: c.S3_PART_CONCURRENCY,
  };
}

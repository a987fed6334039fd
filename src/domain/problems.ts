import { Problem, type ProblemType } from './problem.ts';

/**
 * The one catalogue of problems. Each has a stable `code` (sent in every problem+json body,
 * documented in the README's error table, never reused for another meaning) and a factory
 * that writes a detail saying what was wrong and what to do.
 */
const catalogue: ProblemType[] = [];

function type(code: string, status: number, title: string): ProblemType {
  const entry = { code, status, title };
  catalogue.push(entry);
  return entry;
}

/** Every kind of problem the server can answer with (the error-table test reads it). */
export const PROBLEM_TYPES: readonly ProblemType[] = catalogue;

type Extra = Record<string, unknown>;
const limit = (name: string, value?: number): Extra => ({ limit: name, ...(value !== undefined && { value }) });

// Requests in general

const INVALID_REQUEST = type('INVALID_REQUEST', 400, 'Bad Request');
/** The request does not match the route's schema. */
export const invalidRequest = (errors: { path: string; message: string }[], what = 'request') =>
  new Problem(INVALID_REQUEST, `Invalid ${what} — ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, { errors });

const HTTP_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
};
const REQUEST_REJECTED = type('REQUEST_REJECTED', 400, 'Bad Request');
/** The HTTP layer refused the request before any route ran (malformed JSON, a body too large, …); `status` is its 4xx. */
export const requestRejected = (status: number, detail: string, reason?: string) =>
  new Problem({ ...REQUEST_REJECTED, status, title: HTTP_TITLES[status] ?? 'Bad Request' }, detail, reason ? { reason } : {});

const NOT_MULTIPART = type('NOT_MULTIPART', 415, 'Unsupported Media Type');
export const notMultipart = () => new Problem(NOT_MULTIPART, 'Send images as multipart/form-data (one or more file fields)');

const ROUTE_NOT_FOUND = type('ROUTE_NOT_FOUND', 404, 'Not Found');
export const routeNotFound = (method: string, path: string) => new Problem(ROUTE_NOT_FOUND, `No route for ${method} ${path}`);

const WEB_FILE_NOT_FOUND = type('WEB_FILE_NOT_FOUND', 404, 'Not Found');
export const webFileNotFound = (path: string) => new Problem(WEB_FILE_NOT_FOUND, `No file ${path}`);

const MALFORMED_HTTP = type('MALFORMED_HTTP', 400, 'Bad Request');
/** Node's HTTP parser refused the request (framing, request line, Content-Length, Transfer-Encoding). */
export const malformedHttp = (reason: string) =>
  new Problem(MALFORMED_HTTP, `The request is not valid HTTP (${reason}): check the request line, Content-Length and Transfer-Encoding`, { reason });

const HEADERS_TOO_LARGE = type('HEADERS_TOO_LARGE', 431, 'Request Header Fields Too Large');
export const headersTooLarge = () => new Problem(HEADERS_TOO_LARGE, 'The request headers are over the 16 KiB limit: send fewer or shorter headers');

const REQUEST_TIMEOUT = type('REQUEST_TIMEOUT', 408, 'Request Timeout');
export const requestTimeout = () => new Problem(REQUEST_TIMEOUT, 'The request did not arrive in time: send it whole, without long pauses');

const BAD_URL_ENCODING = type('BAD_URL_ENCODING', 400, 'Bad Request');
export const badUrlEncoding = (path: string) =>
  new Problem(BAD_URL_ENCODING, `The path ${JSON.stringify(path.slice(0, 200))} is not valid percent-encoding: encode it as UTF-8, %XX for each byte`);

const NUL_CHARACTER = type('NUL_CHARACTER', 400, 'Bad Request');
/** PostgreSQL text cannot hold U+0000, so no id, name or value may. */
export const nulCharacter = (where: string) =>
  new Problem(NUL_CHARACTER, `${where} contains a NUL character (\\u0000 or %00), which no id, name or value may hold: remove it`);

const MALFORMED_MULTIPART = type('MALFORMED_MULTIPART', 400, 'Bad Request');
export const malformedMultipart = (reason: string) =>
  new Problem(MALFORMED_MULTIPART, `The multipart/form-data body is malformed (${reason}): the Content-Type must name its boundary, and the body must end with it`);

const INTERNAL_ERROR = type('INTERNAL_ERROR', 500, 'Internal Server Error');
export const internalError = () =>
  new Problem(INTERNAL_ERROR, 'The server hit an unexpected error; it has been logged. Try again, and report it if it persists.');

// Keys and limits

const API_KEY_REQUIRED = type('API_KEY_REQUIRED', 401, 'Unauthorized');
export const apiKeyRequired = () =>
  new Problem(API_KEY_REQUIRED, 'This server requires an API key: send Authorization: Bearer <key> (create one with `recon keys create`)');

const API_KEY_INVALID = type('API_KEY_INVALID', 401, 'Unauthorized');
export const apiKeyInvalid = () => new Problem(API_KEY_INVALID, 'The API key is unknown or has been revoked');

const ADMIN_KEY_REQUIRED = type('ADMIN_KEY_REQUIRED', 403, 'Forbidden');
export const adminKeyRequired = (what: string) => new Problem(ADMIN_KEY_REQUIRED, `${what} needs an admin key`);

const KEY_NOT_FOUND = type('KEY_NOT_FOUND', 404, 'Not Found');
export const keyNotFound = (keyId: string) => new Problem(KEY_NOT_FOUND, `API key "${keyId}" does not exist`);

const KEY_FROM_ENVIRONMENT = type('KEY_FROM_ENVIRONMENT', 409, 'Conflict');
export const keyFromEnvironment = (keyId: string) =>
  new Problem(KEY_FROM_ENVIRONMENT, `Key ${keyId} comes from RECON_API_KEYS; remove it there and restart`);

const RATE_LIMITED = type('RATE_LIMITED', 429, 'Too Many Requests');
export const rateLimited = (max: number, windowSeconds: number, retryIn: string) =>
  new Problem(RATE_LIMITED, `Rate limit of ${max} requests per ${windowSeconds} s exceeded; retry in ${retryIn}`, {
    ...limit('rateLimit', max),
    windowSeconds,
  });

const RUN_CREATION_RATE_LIMITED = type('RUN_CREATION_RATE_LIMITED', 429, 'Too Many Requests');
export const runCreationRateLimited = (max: number, retryIn: string) =>
  new Problem(RUN_CREATION_RATE_LIMITED, `At most ${max} runs may be created per hour; retry in ${retryIn}`, limit('runsPerHour', max));

const QUEUED_RUNS_LIMIT = type('QUEUED_RUNS_LIMIT', 429, 'Too Many Requests');
export const queuedRunsLimit = (owner: string, total: number, max: number) =>
  new Problem(QUEUED_RUNS_LIMIT, `Key ${owner} already has ${total} runs queued or running, the limit is ${max}; wait for one to finish`, limit('maxQueuedRunsPerKey', max));

const DISK_FULL = type('DISK_FULL', 507, 'Insufficient Storage');
export const diskFull = (floor: number, free?: number) =>
  new Problem(DISK_FULL, `The server's disk is nearly full (the floor is ${floor} free bytes); uploads are refused until space is freed`, {
    ...limit('minFreeDiskBytes', floor),
    ...(free !== undefined && { freeBytes: free }),
  });

// Runs

const RUN_NOT_FOUND = type('RUN_NOT_FOUND', 404, 'Not Found');
export const runNotFound = (id: string) => new Problem(RUN_NOT_FOUND, `Run "${id}" does not exist`);

const UNKNOWN_ENGINE = type('UNKNOWN_ENGINE', 400, 'Unknown Engine');
export const unknownEngine = (id: string, engines: string[]) =>
  new Problem(UNKNOWN_ENGINE, `Engine "${id}" is not available`, { engines });

const INVALID_SETTINGS = type('INVALID_SETTINGS', 400, 'Bad Request');
export const invalidSettings = (engine: string, errors: { path: string; message: string }[]) =>
  new Problem(INVALID_SETTINGS, `Invalid settings for engine "${engine}"`, { errors });

const RUN_ALREADY_PROCESSING = type('RUN_ALREADY_PROCESSING', 409, 'Conflict');
export const runAlreadyProcessing = (id: string, runStatus: string) =>
  new Problem(RUN_ALREADY_PROCESSING, `Run ${id} is already processing`, { runStatus });

const RUN_ALREADY_FINISHED = type('RUN_ALREADY_FINISHED', 409, 'Conflict');
/** Processing or canceling a run that has ended. */
export const runAlreadyFinished = (id: string, runStatus: string, rerunHint: boolean) =>
  new Problem(
    RUN_ALREADY_FINISHED,
    rerunHint ? `Run ${id} has already ${runStatus}; use POST /api/runs/${id}/rerun to run it again` : `Run ${id} has already ${runStatus}`,
    { runStatus },
  );

const RUN_NOT_ACCEPTING_IMAGES = type('RUN_NOT_ACCEPTING_IMAGES', 409, 'Conflict');
export const runNotAcceptingImages = (id: string, runStatus: string) =>
  new Problem(RUN_NOT_ACCEPTING_IMAGES, `Run ${id} is ${runStatus}; images can only be added before processing starts`, { runStatus });

const EMPTY_UPLOAD = type('EMPTY_UPLOAD', 400, 'Bad Request');
export const emptyUpload = () => new Problem(EMPTY_UPLOAD, 'No image files in the upload: send one or more files as multipart/form-data');

const RUN_HAS_NO_IMAGES = type('RUN_HAS_NO_IMAGES', 422, 'Unprocessable Content');
export const runHasNoImages = (id: string, doing: 'process' | 'rerun' | 'batch') =>
  new Problem(
    RUN_HAS_NO_IMAGES,
    doing === 'process'
      ? `Run ${id} has no images: upload some with POST /api/runs/${id}/images first`
      : doing === 'rerun'
        ? `Run ${id} has no images to rerun`
        : `Run ${id} has no images: upload some before batching it`,
    { runId: id },
  );

const TOO_FEW_IMAGES = type('TOO_FEW_IMAGES', 422, 'Unprocessable Content');
/** `have` says what holds how many, e.g. "run X has 1". */
export const tooFewImages = (engine: string, needed: number, have: string) =>
  new Problem(TOO_FEW_IMAGES, `Engine "${engine}" needs at least ${needed} images; ${have}`, limit('minImages', needed));

const TOO_MANY_IMAGES = type('TOO_MANY_IMAGES', 422, 'Unprocessable Content');
export const tooManyImages = (detail: string, max: number) => new Problem(TOO_MANY_IMAGES, `Too many images: ${detail}`, limit('maxImages', max));

const FILE_TOO_LARGE = type('FILE_TOO_LARGE', 413, 'Content Too Large');
export const fileTooLarge = (name: string, max?: number, bytes?: number) =>
  new Problem(
    FILE_TOO_LARGE,
    max === undefined
      ? `"${name}" is too large`
      : `"${name}" is ${bytes === undefined ? 'larger than' : `${bytes} bytes, over`} the limit of ${max} bytes per file`,
    limit('maxFileBytes', max),
  );

const RUN_TOO_LARGE = type('RUN_TOO_LARGE', 413, 'Content Too Large');
export const runTooLarge = (detail: string, max?: number) => new Problem(RUN_TOO_LARGE, detail, limit('maxRunBytes', max));

const NOT_AN_IMAGE = type('NOT_AN_IMAGE', 415, 'Unsupported Media Type');
/** `videos`: the upload also takes MP4, MOV and WebM videos (run uploads do; sessions take images only). */
export const notAnImage = (name: string, options: { videos?: boolean } = {}) =>
  new Problem(
    NOT_AN_IMAGE,
    `"${name}" is not a JPEG, PNG, WebP or HEIC image${options.videos ? ', nor an MP4, MOV or WebM video' : ''} (checked by its content, not its name)`,
    { file: name },
  );

const ARTIFACT_NOT_FOUND = type('ARTIFACT_NOT_FOUND', 404, 'Not Found');
export const artifactNotFound = (runId: string, kind: string, reason?: string) =>
  new Problem(ARTIFACT_NOT_FOUND, reason ? `Run ${runId} has no ${kind} artifact: ${reason}` : `Run ${runId} has no ${kind} artifact (yet)`);

const RANGE_NOT_SATISFIABLE = type('RANGE_NOT_SATISFIABLE', 416, 'Range Not Satisfiable');
export const rangeNotSatisfiable = (what: string, bytes: number) =>
  new Problem(RANGE_NOT_SATISFIABLE, `The ${what} has ${bytes} bytes; the requested range is outside it`);

const IMAGE_NOT_FOUND = type('IMAGE_NOT_FOUND', 404, 'Not Found');
export const imageNotFound = (runId: string, name: string) => new Problem(IMAGE_NOT_FOUND, `Run ${runId} has no image "${name}"`);

const THUMBNAIL_NOT_FOUND = type('THUMBNAIL_NOT_FOUND', 404, 'Not Found');
export const thumbnailNotFound = (runId: string, name: string) =>
  new Problem(THUMBNAIL_NOT_FOUND, `Run ${runId} has no thumbnail of "${name}" (thumbnails are made when a run completes)`);

const PREDICTIONS_NOT_FOUND = type('PREDICTIONS_NOT_FOUND', 404, 'Not Found');
export const predictionsNotFound = (runId: string, why: { reason?: string; status?: string }) =>
  new Problem(PREDICTIONS_NOT_FOUND, why.reason ? `Run ${runId} has no predictions: ${why.reason}` : `Run ${runId} has no predictions yet (status ${why.status})`);

const PREDICTIONS_UNREADABLE = type('PREDICTIONS_UNREADABLE', 422, 'Unprocessable Content');
export const predictionsUnreadable = (runId: string, why: string) =>
  new Problem(PREDICTIONS_UNREADABLE, `Run ${runId}'s predictions.npz cannot be read: ${why}`);

const PREDICTIONS_HAVE_NO_CAMERAS = type('PREDICTIONS_HAVE_NO_CAMERAS', 422, 'Unprocessable Content');
export const predictionsHaveNoCameras = (runId: string) => new Problem(PREDICTIONS_HAVE_NO_CAMERAS, `Run ${runId}'s predictions have no cameras`);

// Batches

const BATCH_NOT_FOUND = type('BATCH_NOT_FOUND', 404, 'Not Found');
export const batchNotFound = (id: string) => new Problem(BATCH_NOT_FOUND, `Batch "${id}" does not exist`);

const BATCH_EMPTY = type('BATCH_EMPTY', 400, 'Bad Request');
export const batchEmpty = () => new Problem(BATCH_EMPTY, 'A batch needs at least one run');

const BATCH_TOO_LARGE = type('BATCH_TOO_LARGE', 422, 'Unprocessable Content');
export const batchTooLarge = (max: number, count: number) =>
  new Problem(BATCH_TOO_LARGE, `A batch may hold at most ${max} runs; this one has ${count}`, limit('maxBatchRuns', max));

const BATCH_RUNS_FIELD_INVALID = type('BATCH_RUNS_FIELD_INVALID', 400, 'Bad Request');
export const batchRunsFieldInvalid = (detail: string, errors?: { path: string; message: string }[]) =>
  new Problem(BATCH_RUNS_FIELD_INVALID, detail, errors ? { errors } : {});

const BATCH_RUNS_FIELD_MISSING = type('BATCH_RUNS_FIELD_MISSING', 400, 'Bad Request');
export const batchRunsFieldMissing = (beforeFiles: boolean) =>
  new Problem(
    BATCH_RUNS_FIELD_MISSING,
    beforeFiles
      ? 'Send the "runs" field before any file, so files can be checked against their run'
      : 'A batch upload needs a "runs" field: a JSON array with one {engine?, settings?} per run',
  );

const BATCH_FILE_FIELD_INVALID = type('BATCH_FILE_FIELD_INVALID', 400, 'Bad Request');
export const batchFileFieldInvalid = (file: string, field: string, runs: number) =>
  new Problem(BATCH_FILE_FIELD_INVALID, `File "${file}" is in field "${field}"; files go in run0…run${runs - 1}, one field name per run`);

// Webhooks

const WEBHOOK_NOT_FOUND = type('WEBHOOK_NOT_FOUND', 404, 'Not Found');
export const webhookNotFound = (id: string) => new Problem(WEBHOOK_NOT_FOUND, `Webhook endpoint "${id}" does not exist`);

const WEBHOOK_URL_REFUSED = type('WEBHOOK_URL_REFUSED', 400, 'Bad Request');
export const webhookUrlRefused = (field: string, reason: string) => new Problem(WEBHOOK_URL_REFUSED, `${field} is refused: ${reason}`, { field });

// Interactive sessions

const SESSION_NOT_FOUND = type('SESSION_NOT_FOUND', 404, 'Not Found');
export const sessionNotFound = (id: string) => new Problem(SESSION_NOT_FOUND, `Session "${id}" does not exist`);

const SESSION_LIMIT_REACHED = type('SESSION_LIMIT_REACHED', 503, 'Service Unavailable');
export const sessionLimitReached = (max: number) =>
  new Problem(
    SESSION_LIMIT_REACHED,
    `The server already holds the maximum of ${max} sessions; delete one (DELETE /ws/session/:id) or wait for idle ones to expire`,
    limit('maxSessions', max),
  );

const SESSION_MAX_IMAGES_OVER_LIMIT = type('SESSION_MAX_IMAGES_OVER_LIMIT', 400, 'Bad Request');
export const sessionMaxImagesOverLimit = (requested: number, max: number, engine: string) =>
  new Problem(SESSION_MAX_IMAGES_OVER_LIMIT, `max_images ${requested} is over the limit of ${max} images for engine "${engine}"`, limit('maxImages', max));

const SESSION_FULL = type('SESSION_FULL', 422, 'Unprocessable Content');
export const sessionFull = (count: number) =>
  new Problem(SESSION_FULL, `Too many images: the session already holds ${count}, its limit (max_images)`, limit('maxImages', count));

const SESSION_TOO_LARGE = type('SESSION_TOO_LARGE', 413, 'Content Too Large');
export const sessionTooLarge = (max: number) =>
  new Problem(SESSION_TOO_LARGE, `The session's images would total over the limit of ${max} bytes`, limit('maxRunBytes', max));

const SESSION_COMPLETED = type('SESSION_COMPLETED', 409, 'Conflict');
export const sessionCompleted = (id: string) =>
  new Problem(SESSION_COMPLETED, `Session ${id} is completed; create a new session to reconstruct more images`, { sessionStatus: 'completed' });

const SESSION_BUSY = type('SESSION_BUSY', 409, 'Conflict');
export const sessionBusy = (sessionStatus: string) =>
  new Problem(SESSION_BUSY, 'A generate is already running for this session; wait for its result', { sessionStatus });

const SESSION_HAS_NO_IMAGES = type('SESSION_HAS_NO_IMAGES', 422, 'Unprocessable Content');
export const sessionHasNoImages = () => new Problem(SESSION_HAS_NO_IMAGES, 'The session has no images yet: send some "image" messages first');

const SESSION_RESULT_GONE = type('SESSION_RESULT_GONE', 410, 'Gone');
export const sessionResultGone = (runId: string) => new Problem(SESSION_RESULT_GONE, `Run ${runId}, the session's last result, has been deleted`);

const NO_GLB_PRODUCED = type('NO_GLB_PRODUCED', 422, 'Unprocessable Content');
export const noGlbProduced = (engine: string, reason?: string) =>
  new Problem(NO_GLB_PRODUCED, `Engine "${engine}" produced no GLB${reason ? `: ${reason}` : ''}`);

const INVALID_BASE64 = type('INVALID_BASE64', 400, 'Bad Request');
export const invalidBase64 = () => new Problem(INVALID_BASE64, 'Image "data" is not valid base64');

const SESSION_MESSAGE_INVALID = type('SESSION_MESSAGE_INVALID', 400, 'Bad Request');
/** A WebSocket frame that is not a valid client message of the session protocol. */
export const sessionMessageInvalid = (why: string) => new Problem(SESSION_MESSAGE_INVALID, why);

const SESSION_MESSAGE_TOO_LARGE = type('SESSION_MESSAGE_TOO_LARGE', 413, 'Content Too Large');
export const sessionMessageTooLarge = (bytes: number, max: number) =>
  new Problem(SESSION_MESSAGE_TOO_LARGE, `Message of ${bytes} bytes is over the limit of ${max} bytes; send smaller images`, limit('maxMessageBytes', max));

// Defect blueprints

const BLUEPRINT_NOT_FOUND = type('BLUEPRINT_NOT_FOUND', 404, 'Not Found');
export const blueprintNotFound = (id: string) => new Problem(BLUEPRINT_NOT_FOUND, `Blueprint "${id}" does not exist`);

const BLUEPRINT_PART_NOT_FOUND = type('BLUEPRINT_PART_NOT_FOUND', 404, 'Not Found');
/** A photo, defect, region, prompt, generation, job or export that is not part of the blueprint. */
export const blueprintPartNotFound = (blueprintId: string, part: string, id: string) =>
  new Problem(BLUEPRINT_PART_NOT_FOUND, `Blueprint ${blueprintId} has no ${part} "${id}"`, { part });

const BLUEPRINT_LIMIT_REACHED = type('BLUEPRINT_LIMIT_REACHED', 422, 'Unprocessable Content');
/** `what` is plural ("photos", "defects", …); `name` the limit's setting. */
export const blueprintLimitReached = (what: string, max: number, name: string, setting: string) =>
  new Problem(BLUEPRINT_LIMIT_REACHED, `A blueprint may hold at most ${max} ${what}; remove some first, or raise ${setting}`, limit(name, max));

const BLUEPRINTS_PER_KEY_LIMIT = type('BLUEPRINTS_PER_KEY_LIMIT', 422, 'Unprocessable Content');
export const blueprintsPerKeyLimit = (max: number) =>
  new Problem(BLUEPRINTS_PER_KEY_LIMIT, `This key already has ${max} blueprints, the limit; delete some (or raise BLUEPRINT_MAX_PER_KEY)`, limit('maxBlueprintsPerKey', max));

const BLUEPRINT_TOO_LARGE = type('BLUEPRINT_TOO_LARGE', 413, 'Content Too Large');
export const blueprintTooLarge = (max: number) =>
  new Problem(BLUEPRINT_TOO_LARGE, `The blueprint's photos would total over ${max} bytes; use smaller photos or raise BLUEPRINT_MAX_BYTES`, limit('maxBlueprintBytes', max));

const PHOTO_TOO_LARGE = type('PHOTO_TOO_LARGE', 413, 'Content Too Large');
export const photoTooLarge = (name: string, pixels: number, max: number) =>
  new Problem(PHOTO_TOO_LARGE, `"${name}" has ${pixels} pixels, over the limit of ${max}; scale it down first`, limit('maxPixels', max));

const DEFECT_NAME_TAKEN = type('DEFECT_NAME_TAKEN', 409, 'Conflict');
export const defectNameTaken = (name: string) => new Problem(DEFECT_NAME_TAKEN, `The blueprint already has a defect named "${name}"; names are unique (ignoring case)`, { name });

const TEMPLATE_NOT_FOUND = type('TEMPLATE_NOT_FOUND', 404, 'Not Found');
export const templateNotFound = (id: string) =>
  new Problem(TEMPLATE_NOT_FOUND, `Defect template "${id}" does not exist (GET /api/blueprint-templates lists them)`);

const REGION_INVALID = type('REGION_INVALID', 422, 'Unprocessable Content');
/** A drawn region that cannot be used: outside the photo, empty, or a mask of another size. */
export const regionInvalid = (detail: string) => new Problem(REGION_INVALID, detail);

const NO_ROOM_FOR_REGION = type('NO_ROOM_FOR_REGION', 422, 'Unprocessable Content');
export const noRoomForRegion = (photo: string) =>
  new Problem(NO_ROOM_FOR_REGION, `No product was found in photo "${photo}" to place a region on automatically; draw a box or mask instead`);

const UNKNOWN_IMAGE_MODEL = type('UNKNOWN_IMAGE_MODEL', 400, 'Bad Request');
export const unknownImageModel = (id: string, models: string[]) =>
  new Problem(UNKNOWN_IMAGE_MODEL, `"${id}" is not an image model blueprints can use; choose one of ${models.join(', ')}`, { models });

const PROMPT_OF_OTHER_DEFECT = type('PROMPT_OF_OTHER_DEFECT', 422, 'Unprocessable Content');
export const promptOfOtherDefect = (promptId: string, defectId: string) =>
  new Problem(PROMPT_OF_OTHER_DEFECT, `Prompt ${promptId} belongs to another defect than ${defectId}`);

const NOTHING_TO_GENERATE = type('NOTHING_TO_GENERATE', 422, 'Unprocessable Content');
export const nothingToGenerate = (why: string) => new Problem(NOTHING_TO_GENERATE, `Nothing to generate: ${why}`);

const GENERATION_NOT_FINISHED = type('GENERATION_NOT_FINISHED', 409, 'Conflict');
export const generationNotFinished = (id: string, jobStatus: string) =>
  new Problem(GENERATION_NOT_FINISHED, `Generation ${id} is ${jobStatus}; only completed generations can be rated or downloaded`, { jobStatus });

const FAL_NOT_CONFIGURED = type('FAL_NOT_CONFIGURED', 409, 'Conflict');
/** A feature that needs fal.ai settings the server was started without. */
export const falNotConfigured = (feature: string, setting: string) =>
  new Problem(FAL_NOT_CONFIGURED, `${feature} is off on this server: start it with ${setting} set`, { setting });

const NOTHING_TO_EXPORT = type('NOTHING_TO_EXPORT', 422, 'Unprocessable Content');
export const nothingToExport = (include: string) =>
  new Problem(NOTHING_TO_EXPORT, `No generated image matches include="${include}": approve some (PUT …/generations/:id/rating), or export with include="approved_and_unrated"`);

const FAL_WEBHOOK_REJECTED = type('FAL_WEBHOOK_REJECTED', 401, 'Unauthorized');
export const falWebhookRejected = (reason: string) => new Problem(FAL_WEBHOOK_REJECTED, `fal webhook refused: ${reason}`);

const FAL_WEBHOOK_KEYS_UNAVAILABLE = type('FAL_WEBHOOK_KEYS_UNAVAILABLE', 503, 'Service Unavailable');
export const falWebhookKeysUnavailable = (reason: string) =>
  new Problem(FAL_WEBHOOK_KEYS_UNAVAILABLE, `Cannot check the webhook's signature now (${reason}); fal will deliver it again`);
// Pipelines (runs of several stages)

const ENGINE_IS_A_STAGE = type('ENGINE_IS_A_STAGE', 400, 'Bad Request');
/** A run asked for an engine that only works on what earlier stages of a pipeline made. */
export const engineIsAStage = (engine: string, pipelines: string[]) =>
  new Problem(
    ENGINE_IS_A_STAGE,
    `Engine "${engine}" runs only as a stage of a pipeline${pipelines.length ? ` (${pipelines.join(', ')})` : ''}: create a run with engine "${pipelines[0] ?? 'a pipeline'}" and choose it in that stage's settings`,
    { pipelines },
  );

const UNKNOWN_STAGE = type('UNKNOWN_STAGE', 400, 'Bad Request');
export const unknownStage = (runId: string, stage: string, stages: string[]) =>
  new Problem(UNKNOWN_STAGE, `Run ${runId} has no stage "${stage}"; its stages are ${stages.join(', ')}`, { stages });

const STAGE_OUTPUTS_MISSING = type('STAGE_OUTPUTS_MISSING', 409, 'Conflict');
/** A rerun from a stage whose earlier stages did not all finish in the parent run. */
export const stageOutputsMissing = (runId: string, stage: string, missing: string) =>
  new Problem(
    STAGE_OUTPUTS_MISSING,
    `Run ${runId}'s stage "${missing}" did not complete, so a rerun from "${stage}" has nothing to start from; rerun from "${missing}" instead`,
    { stage: missing },
  );

const STAGE_SETTINGS_CHANGED = type('STAGE_SETTINGS_CHANGED', 400, 'Bad Request');
/** A rerun that changes the settings of a stage whose outputs it would reuse. */
export const stageSettingsChanged = (stage: string, fromStage: string) =>
  new Problem(
    STAGE_SETTINGS_CHANGED,
    `The settings of stage "${stage}" changed, but a rerun from "${fromStage}" reuses that stage's outputs; rerun from "${stage}" or leave its settings as they were`,
    { stage },
  );

const NOT_A_PIPELINE = type('NOT_A_PIPELINE', 400, 'Bad Request');
/** `fromStage` or `fromRun` for an engine that is a single stage. */
export const notAPipeline = (engine: string, field: 'fromStage' | 'fromRun') =>
  new Problem(NOT_A_PIPELINE, `${field} needs a pipeline; "${engine}" is a single engine (see GET /api/engines for pipelines and their stages)`, { field });

const SOURCE_RUN_UNUSABLE = type('SOURCE_RUN_UNUSABLE', 422, 'Unprocessable Content');
/** `fromRun` names a run that has not completed or holds none of what the next stage reads. */
export const sourceRunUnusable = (runId: string, why: string) =>
  new Problem(SOURCE_RUN_UNUSABLE, `Run ${runId} cannot start this pipeline: ${why}`, { sourceRunId: runId });

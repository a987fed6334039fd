import type { Config } from '../config.ts';
import { colmapEngine } from './colmap/index.ts';
import { EngineRegistry } from './registry.ts';
import { testEngine } from './test-engine/index.ts';
import { testStageEngine } from './test-engine/stage.ts';
import { createVggtSpaceEngine } from './vggt-space/index.ts';
import { createVggtLocalEngine } from './vggt-local/index.ts';
import { createDa3Engine } from './da3/index.ts';
import { createOpenSplatEngine } from './opensplat/index.ts';
import { createSplatfactoEngine } from './splatfacto/index.ts';
import { splatCompressEngine } from './splat-compress/index.ts';
import { splatEvaluateEngine } from './splat-evaluate/index.ts';
import { createSplatSceneEngine } from './splat-scene/index.ts';
import { splatTrainEngine } from './splat-train/index.ts';

/** The engines this process offers, from configuration. COLMAP is the default: it needs no GPU. */
export function createEngineRegistry(config: Config): EngineRegistry {
  const registry = new EngineRegistry();
  registry.register(colmapEngine, { default: true });
  // Always selectable; the default once the user pointed us at a Space or gave a token.
  const { space, token, maxQuotaWaitMs, configured } = config.vggtSpace;
  registry.register(createVggtSpaceEngine({ space, token, maxQuotaWaitMs }), { default: configured });
  // Always listed, so GET /api/engines and `recon engines` say what to set; check() says why
  // they are unusable until VGGT_WEIGHTS / DA3_URL are set, and run() fails with the same reason.
  const local = config.vggtLocal;
  registry.register(
    createVggtLocalEngine({ weights: local.weights, python: local.python, timeoutMs: local.timeoutMs, loadTimeoutMs: local.loadTimeoutMs, allowCpu: local.allowCpu }),
    { default: local.weights !== undefined && !configured },
  );
  registry.register(createDa3Engine(config.da3));
  // The splat pipeline's stages (src/pipelines/splat-pipeline.ts).
  registry.register(createSplatSceneEngine());
  registry.register(splatTrainEngine);
  registry.register(splatCompressEngine);
  registry.register(splatEvaluateEngine);
  // GPU trainers for the splat pipeline's train stage: listed always, usable where installed.
  registry.register(createOpenSplatEngine());
  registry.register(createSplatfactoEngine());
  if (config.testEngines) registry.register(testEngine);
  if (config.testEngines) registry.register(testStageEngine);
  return registry;
}

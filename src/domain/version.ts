import pkg from '../../package.json' with { type: 'json' };

/** Recon's version, as package.json gives it: what /api/health and each worker's row report. */
export const RECON_VERSION: string = pkg.version;

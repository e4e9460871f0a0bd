// Checking an export folder later: every file its manifest lists is still there, unchanged.
export { verifyExport, type VerifyReport } from '../engine/export/manifest.js';

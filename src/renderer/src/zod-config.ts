// Imported first by main.tsx. The page's CSP forbids eval, and zod probes for it with
// `new Function` while building object schemas (the contract, at import), which Chromium reports as
// a CSP violation even though zod catches it. Jitless parsing needs no probe.
import { z } from 'zod';

z.config({ jitless: true });

import { z } from 'zod';
import { DEVICE_REQUESTS } from '../engine/models/types.js';

/** First message main sends the engine utility process, together with the request port. */
export const engineInitSchema = z.object({
  kind: z.literal('init'),
  config: z.object({
    libraryPath: z.string().min(1),
    modelsDir: z.string().min(1),
    device: z.enum(DEVICE_REQUESTS),
    locale: z.string().max(100).optional(),
  }),
});
export type EngineInit = z.infer<typeof engineInitSchema>;
export type EngineConfig = EngineInit['config'];

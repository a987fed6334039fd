import { z } from 'zod';

export const keyView = z.object({
  id: z.string(),
  name: z.string(),
  admin: z.boolean(),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
  source: z.enum(['database', 'environment']),
});

export const createKeyBody = z
  .object({
    name: z.string().max(100).optional().describe('A label for people; the id is used when omitted'),
    admin: z.boolean().optional().describe('Admin keys see and manage every run, batch, session, webhook and key'),
  })
  .strict();

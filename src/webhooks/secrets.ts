import { randomBytes } from 'node:crypto';
import { randomToken } from '../domain/ids.ts';

/** A Standard Webhooks secret: `whsec_` + base64 of 24 random bytes. */
export const newWebhookSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
export const newEndpointId = () => `wh_${randomToken(16)}`;
/** Also the `webhook-id` header: the same for every attempt of one delivery. */
export const newDeliveryId = () => `msg_${randomToken(20)}`;

/** Owners are API key ids; the local user of a server without keys is ''. */
export const ownerKey = (owner: string | null | undefined) => owner ?? '';

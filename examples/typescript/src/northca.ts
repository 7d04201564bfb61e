// A typed Northca Partner API client: openapi-fetch over the types openapi-typescript generates
// from the spec (`npm run generate` writes src/northca-api.d.ts from ../../openapi.yaml).
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./northca-api.js";

export type NorthcaClient = Client<paths>;
export type DispatchCall = components["schemas"]["DispatchCall"];
export type ActiveUnit = components["schemas"]["ActiveUnit"];

export interface NorthcaOptions {
  /** The API base: https://api.northca.dev/v1 in production, the mock's `/v1` in tests. */
  baseUrl: string;
  partnerKey: string;
  /** The Discord guild the bot acts for (`x-discord-guild`). */
  guildId: string;
  /** The Discord user the bot acts as (`x-discord-actor`), when an operation needs one. */
  actorId?: string;
  /** Extra headers on every request (tests add `x-mock-namespace` here). */
  headers?: Record<string, string>;
}

/** A client that sends the partner key, guild and actor on every request. */
export function northcaClient(options: NorthcaOptions): NorthcaClient {
  const headers: Record<string, string> = {
    ...options.headers,
    "x-partner-key": options.partnerKey,
    "x-discord-guild": options.guildId,
  };
  if (options.actorId !== undefined) headers["x-discord-actor"] = options.actorId;
  return createClient<paths>({ baseUrl: options.baseUrl, headers });
}

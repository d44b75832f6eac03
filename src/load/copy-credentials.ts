/**
 * The authorization COPY carries. With neither `copy_iam_role_arn` nor keys in the config, the AWS default
 * credential chain (environment, shared config/SSO, web identity, container or instance role) is resolved
 * here and its temporary keys, session token included, go into COPY (AWS: COPY authorization parameters,
 * "temporary security credentials" need SESSION_TOKEN). They are fetched again when near expiry.
 */
import type { CopyAuthorization } from "../redshift/sql.js";
import { RefreshingCredentials } from "./iam-auth.js";
import { TargetError } from "../errors.js";

/** What the config says about COPY's authorization: fixed, or the default chain resolved at run time. */
export type CopyAuthSource = CopyAuthorization | { defaultChain: true };

export interface ChainCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiresAt?: Date;
}

/** A failure to find credentials for COPY in the default chain: kind `config` (only the user can fix it). */
export class CopyCredentialsError extends TargetError {
  override name = "CopyCredentialsError";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("config", message, { cause: options.cause });
  }
}

export type ChainProvider = (options: { forceRefresh: boolean }) => Promise<ChainCredentials>;

async function loadChain() {
  const { fromNodeProviderChain } = await import("@aws-sdk/credential-providers");
  return fromNodeProviderChain();
}

/** The SDK's Node chain, in the shape used here. */
export function nodeChainProvider(): ChainProvider {
  // Loaded on first use: runs that give a role or keys never need it.
  let provider: Awaited<ReturnType<typeof loadChain>> | undefined;
  return async ({ forceRefresh }) => {
    provider ??= await loadChain();
    const c = await provider({ forceRefresh });
    return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expiresAt: c.expiration };
  };
}

/**
 * Resolves a CopyAuthSource into what one COPY statement needs. `onIssued` receives chain credentials
 * (to mask them in logs); fixed authorizations pass through untouched. Throws CopyCredentialsError.
 */
export class CopyCredentials {
  private readonly chain?: RefreshingCredentials<ChainCredentials>;

  constructor(
    readonly source: CopyAuthSource,
    options: { provider?: ChainProvider; onIssued?: (c: ChainCredentials) => void; now?: () => number } = {},
  ) {
    if ("defaultChain" in source) {
      const provider = options.provider ?? nodeChainProvider();
      this.chain = new RefreshingCredentials((forceRefresh) => provider({ forceRefresh }), { onIssued: options.onIssued, now: options.now });
    }
  }

  get usesChain(): boolean {
    return this.chain !== undefined;
  }

  async get(): Promise<CopyAuthorization> {
    if (!this.chain) return this.source as CopyAuthorization;
    let c: ChainCredentials;
    try {
      c = await this.chain.get();
    } catch (e) {
      throw new CopyCredentialsError(
        `COPY needs AWS credentials and the default credential chain found none (${(e as Error).message}): set copy_iam_role_arn, or aws_access_key_id and aws_secret_access_key, or provide credentials to the process (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or task role)`,
        { cause: e },
      );
    }
    return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) };
  }
}

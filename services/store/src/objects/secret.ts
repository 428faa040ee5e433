// Secret and Config: user data delivered to tasks that reference them. A secret's data must never
// leave the manager through list/inspect APIs (that filter is the API's job; the store keeps the
// bytes and hands out copies). Mirrors proto/objects.proto.
import type { Annotations, Driver, Meta } from "./common.js";

export interface SecretSpec {
  annotations: Annotations;
  data?: Uint8Array;
  /** External secret driver; unset means data is the secret. */
  driver?: Driver;
  templating?: Driver;
}

export interface Secret {
  id: string;
  meta: Meta;
  spec: SecretSpec;
  /** Created by the system (e.g. ingress keys) and hidden from users. */
  internal?: boolean;
}

export interface ConfigSpec {
  annotations: Annotations;
  data?: Uint8Array;
  templating?: Driver;
}

export interface Config {
  id: string;
  meta: Meta;
  spec: ConfigSpec;
}

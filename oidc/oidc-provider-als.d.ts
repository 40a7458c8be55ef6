// oidc-provider's own AsyncLocalStorage (lib/helpers/als.js, the instance its routes run their Koa
// context in; Provider.ctx reads it). @types/oidc-provider does not declare the module: the request
// scope (oidc/request-memo.ts) keeps its state on the store this instance carries.
declare module 'oidc-provider/lib/helpers/als.js' {
  import type { AsyncLocalStorage } from 'node:async_hooks';
  const als: AsyncLocalStorage<unknown>;
  export default als;
}

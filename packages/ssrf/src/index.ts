export {
  type AddressClass,
  classifyAddress,
  classifyParsedAddress,
  type IpAddress,
  parseIpAddress,
} from './classify-address.ts';
export {
  BLOCKED_DESTINATION_CODE,
  BlockedDestinationError,
  isBlockedDestinationError,
} from './blocked-destination-error.ts';
export {
  type CheckHostResult,
  type CheckUrlOptions,
  type CheckUrlResult,
  createDestinationPolicy,
  type DestinationPolicy,
  type DestinationPolicyOptions,
  type GuardedLookup,
  type LookupCallback,
  type ResolvedAddress,
  type ResolveHost,
} from './destination-policy.ts';
export { SsrfConfigError, type SsrfConfigErrorCode } from './ssrf-config-error.ts';

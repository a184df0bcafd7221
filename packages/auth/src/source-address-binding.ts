import { networkInterfaces } from 'node:os';
import { AuthConfigError } from './auth-config-error.ts';
import { formatIp, isInRange, parseIpRange, parseIpStrict } from './ip-address.ts';

/** What `os.networkInterfaces()` returns, narrowed to what is read. */
export type InterfaceAddresses = Record<string, readonly { address: string }[] | undefined>;

export interface SourceAddressBindingOptions {
  /** The local IP outgoing pushes leave from (the address receivers allow-list). */
  localAddress: string;
  /** Refuse an address no local interface holds. Default true. */
  requireLocalInterface?: boolean;
  /** Injected for tests; default `os.networkInterfaces`. */
  networkInterfaces?: () => InterfaceAddresses;
  /** Default `process.platform`; on Linux the whole of 127.0.0.0/8 is local. */
  platform?: string;
}

/** Validated option for the HTTP client's connect settings (undici `connect.localAddress`). */
export interface SourceAddressBinding {
  localAddress: string;
}

const LOOPBACK_V4 = parseIpRange('127.0.0.0/8');

/** The sender's half of the fixed-source-IP strategy; throws `AuthConfigError` when unusable. */
export function createSourceAddressBinding(options: SourceAddressBindingOptions): SourceAddressBinding {
  const address = parseIpStrict(options.localAddress);
  if (address === undefined) {
    throw new AuthConfigError(
      'invalid_address',
      `localAddress is not an IP address: ${JSON.stringify(options.localAddress)}`,
    );
  }
  const localAddress = formatIp(address);
  if (options.requireLocalInterface === false) return { localAddress };

  const platform = options.platform ?? process.platform;
  if (platform === 'linux' && LOOPBACK_V4 !== undefined && isInRange(address, LOOPBACK_V4)) return { localAddress };
  const interfaces = (options.networkInterfaces ?? networkInterfaces)();
  for (const entries of Object.values(interfaces)) {
    for (const entry of entries ?? []) {
      const candidate = parseIpStrict(entry.address);
      if (candidate !== undefined && formatIp(candidate) === localAddress) return { localAddress };
    }
  }
  throw new AuthConfigError(
    'local_address_not_assigned',
    `localAddress ${localAddress} is not assigned to any local interface`,
  );
}

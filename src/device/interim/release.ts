/*
 * The release build's side of device/interim (interim.d.ts): there is no
 * interim configuration path. The factory's "provision" request configures
 * the device (it carries no key), and the TLS client key is only ever the
 * one the device made (a key in another form is refused, not decoded).
 */
import type { Configuration } from "device/configuration";
import type { FlashRegion } from "store/flash-region";

export { tlsClientKey as clientKey } from "device/tls-identity";

export function firstConfiguration(_flash: FlashRegion, provisioned: Promise<Configuration>): Promise<Configuration> {
	return provisioned;
}

/*
 * The interim configuration path: a build variant, which the manifest
 * chooses (variants/<build>/manifest.json), not a runtime switch.
 *
 * - development.ts (the simulators, and DOORWARD_BUILD=development on the
 *   device): a configuration message on the interim configuration channel
 *   (hardware/provisioning requestConfiguration) configures the device, and
 *   may bring a TLS client certificate and key made elsewhere
 *   (broker.tls.certificate and broker.tls.key, PEM).
 * - release.ts (the device's release build): no such path. The device is
 *   configured by the factory's "provision" request alone, and its TLS key
 *   is the one it made itself (device/tls-identity).
 */
declare module "device/interim" {
	import type { FlashRegion } from "store/flash-region";
	import type { Configuration } from "device/configuration";

	/**
	 * The first configuration of a device that has none. `provisioned`
	 * resolves once the factory's "provision" request has stored one. A
	 * release build waits for that alone; a development build also takes a
	 * configuration message on the interim channel, stores it, and logs and
	 * asks again when it refuses one.
	 */
	export function firstConfiguration(flash: FlashRegion, provisioned: Promise<Configuration>): Promise<Configuration>;
	/**
	 * The private key for the broker's TLS client certificate (DER), or
	 * undefined; the caller wipes it once the socket has it. A release build
	 * gives only the key the device made; a development build also a key
	 * that came with a configuration message.
	 */
	export function clientKey(): Uint8Array | undefined;
}

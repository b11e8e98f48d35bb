/*
 * The device's end of the provisioning channels: the serial port on
 * hardware, the bridge in the simulator, files and a resource on lin.
 *
 * - The local channel, in every build: requests that only someone with the
 *   device in hand can make (pairing, the factory's "csr" and "provision").
 * - The interim configuration channel, in development builds only: the
 *   firmware asks, on a device that has no configuration, and receives one
 *   message, the configuration. src/device/interim/development.ts is its one
 *   caller. The device's release module (esp32/provisioning.ts) does not
 *   export it, and the manifest leaves development.ts and that caller out of
 *   a release build (variants/release/manifest.json).
 */
declare module "hardware/provisioning" {
	/**
	 * Serves requests on the local channel: the handler gets a request and
	 * returns the reply (both UTF-8 JSON).
	 */
	export function onPairingRequest(handler: (request: ArrayBuffer) => ArrayBuffer): void;
	/** Development builds only: resolves with the configuration message's bytes (UTF-8 JSON). */
	export function requestConfiguration(): Promise<ArrayBuffer>;
}

/*
 * The device's end of the factory provisioning channel: the serial port on
 * hardware, the bridge in the simulator. The firmware asks once, on a device
 * that has no configuration, and receives one message: the configuration.
 */
declare module "hardware/provisioning" {
	/** Resolves with the configuration message's bytes (UTF-8 JSON). */
	export function requestConfiguration(): Promise<ArrayBuffer>;
	/**
	 * Serves pairing requests on the local channel, which only someone with
	 * the device in hand can reach: the handler gets a request and returns
	 * the reply (both UTF-8 JSON).
	 */
	export function onPairingRequest(handler: (request: ArrayBuffer) => ArrayBuffer): void;
}

/*
 * The device's end of its local channels.
 *
 * - The factory line, in every build: one JSON request and one JSON reply,
 *   that only someone with the device in hand can make (the factory's
 *   "setup-code", "csr" and "provision", the first update root:
 *   src/onboarding/factory-line.ts). UART0 on the device, the bridge in the
 *   simulator, files on lin. The provisioning lock closes it.
 * - The onboarding link: where a phone with the label's code is admitted
 *   (src/onboarding/exchange.ts). It carries fragments (src/onboarding/frames.ts)
 *   both ways: on the device a BLE GATT service, one write and one notify
 *   characteristic; in the simulator the same fragments over a simulated BLE
 *   link on the bridge; on lin, files.
 * - The owner's Wi-Fi: joining the network the phone sent.
 * - The interim configuration channel, in development builds only: the
 *   firmware asks, on a device that has no configuration, and receives one
 *   message, the configuration. src/device/interim/development.ts is its one
 *   caller. The device's release module (esp32/provisioning.ts) does not
 *   export it, and the manifest leaves development.ts and that caller out of
 *   a release build (variants/release/manifest.json).
 */
declare module "hardware/provisioning" {
	/**
	 * Serves the factory line: the handler gets a request and returns the
	 * reply (both UTF-8 JSON).
	 */
	export function onPairingRequest(handler: (request: ArrayBuffer) => ArrayBuffer): void;

	// The link's types are declared once, in hardware/provisioning/link.ts, so
	// each platform's implementation of this module can name them without
	// importing itself (under mcconfig this specifier is the implementation).
	import type { LocalLink, LocalLinkHandlers } from "hardware/provisioning/link";
	export type { LocalLink, LocalLinkHandlers };
	/** Serves the onboarding link, one connection at a time: `connect` is called for each. */
	export function onLocalLink(connect: (link: LocalLink) => LocalLinkHandlers): void;

	/** Joins the owner's Wi-Fi network; resolves with how it went. */
	export function joinNetwork(ssid: string, passphrase: string): Promise<"joined" | "wrong passphrase" | "network not found">;

	/** Development builds only: resolves with the configuration message's bytes (UTF-8 JSON). */
	export function requestConfiguration(): Promise<ArrayBuffer>;
}

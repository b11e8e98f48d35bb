/*
 * Message types on the bridge between the simulated device and the world
 * (see bridge.c for the framing). The world's side is tools/sim/world.ts.
 * Pure constants: imported by the device and by the tools.
 */

/** From the world to the device. */
export const ToDevice = Object.freeze({
	/** u8: 1 pressed, 0 released. */
	Button: 1,
	/** u8: 1 motion, 0 still. */
	Motion: 2,
	/** u16 width, u16 height (big-endian), then one JPEG frame. */
	Frame: 3,
	/** UTF-8 JSON device configuration: the factory's provisioning message. */
	Provision: 4,
	/** UTF-8 JSON request on the factory line (src/onboarding/factory-line.ts). */
	Pair: 5,
	/** A piece of an update bundle, in order (the simulator's stand-in for the download). */
	UpdateChunk: 6,
	/** The update bundle is complete (no payload). */
	UpdateEnd: 7,
	/** The world's SNTP answer: the time, milliseconds since the epoch, a big-endian float64 (hardware/clock/sim). */
	Time: 8,
	/** The simulated BLE link: a phone connected; u16 ATT MTU, u16 connection handle (big-endian). */
	LinkConnect: 9,
	/** The simulated BLE link: one write on the write characteristic (a fragment, src/onboarding/frames.ts). */
	LinkWrite: 10,
	/** The simulated BLE link: the phone disconnected (no payload). */
	LinkDisconnect: 11,
	/** The simulated Wi-Fi's answer to a WifiJoin: UTF-8 "joined", "wrong passphrase" or "network not found". */
	WifiResult: 12,
	/** Test only: a request to the crypto oracle (tests/xs/oracle.ts). */
	OracleRequest: 0x10,
} as const);

/** From the device to the world. */
export const ToWorld = Object.freeze({
	/** u8 on, u16 width, u16 height, u16 reserved (big-endian). */
	Camera: 0x81,
	/** The device has no configuration and waits for a Provision message. */
	ProvisionRequest: 0x82,
	/** UTF-8 JSON status: {"state": "ready" | "connected" | "published", ...}. */
	Status: 0x83,
	/** UTF-8 JSON reply on the factory line, or an error. */
	PairReply: 0x84,
	/** UTF-8 JSON update outcome: {"outcome": "installed" | "refused" | "trial" | "confirmed" | "self-test-failed" | "rolled-back", ...}. */
	UpdateReport: 0x85,
	/** The device asks the world's SNTP server for the time (no payload); the answer is a Time message, or none. */
	TimeRequest: 0x86,
	/** The simulated BLE link: u16 connection handle, then one notification on the notify characteristic (a fragment). */
	LinkNotify: 0x87,
	/** The simulated BLE link: the device ended the connection; u16 connection handle. */
	LinkClosed: 0x88,
	/** The simulated Wi-Fi: join u8 SSID length, SSID, passphrase (UTF-8); the world answers WifiResult. */
	WifiJoin: 0x89,
	/** Test only: the crypto oracle's answer. */
	OracleReply: 0x90,
} as const);

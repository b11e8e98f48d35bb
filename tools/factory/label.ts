/*
 * The device's printed label (docs/factory.md, "The label"): the passcode
 * leaves the device once, in its reply to the factory line's "setup-code",
 * and goes onto the label and nowhere else (not the manifest, not a log).
 *
 *   QR payload:   doorward:2:<device id, 32 hex>:<fingerprint>:<setup code, 8 digits>
 *   manual code:  the setup code and its Verhoeff check digit, 1234-5678-9
 *
 * In the simulator the printed label is kept beside the flash, as
 * FILE.label.json (mode 0600): the stand-in for the sticker on the box.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { SimulatedDevice } from "../sim/world.js";
import { verhoeff } from "../phone/onboarding.js";

export interface Label {
	readonly deviceId: string;
	readonly fingerprint: string;
	readonly setupCode: string;
	readonly manualCode: string;
	readonly qr: string;
}

export function manualCode(setupCode: string): string {
	return `${setupCode.slice(0, 4)}-${setupCode.slice(4)}-${verhoeff(setupCode)}`;
}

export function qrPayload(deviceId: string, fingerprint: string, setupCode: string): string {
	return `doorward:2:${deviceId}:${fingerprint}:${setupCode}`;
}

/** The label of a device, from its setup-code reply. */
export function makeLabel(reply: { deviceId: string; fingerprint: string; setupCode: string }): Label {
	if (!/^[0-9a-f]{32}$/.test(reply.deviceId) || !/^\d{8}$/.test(reply.setupCode))
		throw new Error("the device's setup-code reply is malformed");
	return {
		deviceId: reply.deviceId,
		fingerprint: reply.fingerprint,
		setupCode: reply.setupCode,
		manualCode: manualCode(reply.setupCode),
		qr: qrPayload(reply.deviceId, reply.fingerprint, reply.setupCode),
	};
}

/** Where the simulator keeps the printed label of the device whose flash is `flashPath`. */
export function labelFile(flashPath: string): string {
	return `${flashPath}.label.json`;
}

export function readLabel(flashPath: string): Label | undefined {
	const file = labelFile(flashPath);
	if (!existsSync(file))
		return undefined;
	return JSON.parse(readFileSync(file, "utf8")) as Label;
}

/** The printed label of a simulated device: the one beside its flash, or a new one the device draws now. */
export async function labelOf(device: SimulatedDevice, flashPath: string): Promise<Label> {
	const printed = readLabel(flashPath);
	if (printed)
		return printed;
	const label = makeLabel(await device.setupCode());
	writeFileSync(labelFile(flashPath), `${JSON.stringify(label, null, "\t")}\n`, { mode: 0o600 });
	return label;
}

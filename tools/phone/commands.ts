/*
 * `doorward phone keygen`, `doorward pair` and `doorward open`: the owner's
 * app, as commands.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createPhone, loadPhone, phoneFingerprint, rememberDevice, savePhone, PhoneFileError } from "./identity.js";
import type { OpenedEvent } from "./open.js";
import { acceptEvent } from "./state.js";
import { SimulatedDevice, deviceSecretFor } from "../sim/world.js";
import { simulatorBuild } from "../build/firmware.js";

export { PhoneFileError };

export function keygen(out: string, name: string, say: (line: string) => void): void {
	const file = resolve(out);
	if (existsSync(file))
		throw new PhoneFileError(`${file}: exists; refusing to overwrite a phone's private key`);
	const phone = createPhone(name);
	savePhone(file, phone);
	// Not an envelope key id: those differ per device (SHA-256(device id || key)), and `pair` prints each.
	say(`phone ${name}: phone key fingerprint ${phoneFingerprint(phone)} (names this phone on a device's local channel; never in an envelope), written to ${file} (mode 0600)`);
}

/**
 * Pairs a phone with the simulated device whose flash is `flash`, over the
 * device's local channel (the bridge, as a phone would use the device's
 * pairing mode in person). With `fingerprint`, the one on the device's label,
 * a device whose keys do not match it is refused.
 */
export async function pair(phoneFile: string, flash: string, fingerprint: string | undefined, say: (line: string) => void, resetDevice = false): Promise<number> {
	const phone = loadPhone(phoneFile);
	const flashPath = resolve(flash);
	mkdirSync(join(flashPath, ".."), { recursive: true });
	const device = new SimulatedDevice({
		build: simulatorBuild(),
		flashPath,
		secretPath: deviceSecretFor(flashPath),
		onLog: (line) => say(`device | ${line}`),
	});
	try {
		await new Promise<void>((resolveBoot, reject) => {
			device.on("status", (status) => (status.state !== "booting") && resolveBoot());
			device.once("exit", () => reject(new Error("the device stopped while booting")));
		});
		const reply = await device.pair(phone.x25519PublicKey, phone.name);
		const shown = rememberDevice(phone, reply, fingerprint, { resetDevice });
		savePhone(resolve(phoneFile), phone);
		say(`paired: device ${reply.deviceId}, fingerprint ${shown}, topic id ${reply.topicId}, this phone's key id in its events ${phone.devices[reply.deviceId!].keyId}`);
		return 0;
	}
	finally {
		await device.powerOff();
	}
}

/**
 * Verifies and decrypts a captured event; writes its frames and metadata
 * beside it, or to `out`. What was opened is saved in the phone file first,
 * so the same event, or an older one, is refused next time as a replay. With
 * `topic`, the MQTT topic it came on, an event of another device's topic is refused.
 */
export async function open(phoneFile: string, event: string, out: string | undefined, print: (line: string) => void, topic?: string, say: (line: string) => void = () => {}): Promise<number> {
	const phone = loadPhone(phoneFile);
	let envelope: Uint8Array;
	try {
		envelope = readFileSync(event);
	}
	catch (error) {
		throw new PhoneFileError(`${event}: cannot read (${(error as NodeJS.ErrnoException).code})`);
	}
	const { opened, notes } = await acceptEvent(phone, envelope, { ...(topic !== undefined ? { topic } : {}), save: () => savePhone(resolve(phoneFile), phone) });
	for (const note of notes)
		say(`phone: ${note}`);
	const { header } = opened;
	const folder = resolve(out ?? join(resolve(event, ".."), `opened-${header.eventId}`));
	const { frames, thumbnail } = saveOpenedEvent(folder, opened);
	print(JSON.stringify({ eventId: header.eventId, deviceId: header.deviceId, seq: header.seq, kind: opened.metadata.kind, frames, ...(thumbnail ? { thumbnail } : {}) }));
	return 0;
}

/** Writes an opened event's pictures and event.json into `folder`; returns the pictures' paths. */
export function saveOpenedEvent(folder: string, opened: OpenedEvent, extra: Record<string, unknown> = {}): { frames: string[]; thumbnail?: string; snapshot?: string } {
	mkdirSync(folder, { recursive: true });
	const frames = opened.frames.map((frame, index) => {
		const file = join(folder, `frame-${String(index).padStart(3, "0")}.jpg`);
		writeFileSync(file, frame);
		return file;
	});
	const thumbnail = opened.thumbnail ? join(folder, "face.jpg") : undefined;
	if (thumbnail)
		writeFileSync(thumbnail, opened.thumbnail!);
	const snapshot = opened.snapshot ? join(folder, "snapshot.jpg") : undefined;
	if (snapshot)
		writeFileSync(snapshot, opened.snapshot!);
	const { header } = opened;
	writeFileSync(join(folder, "event.json"), `${JSON.stringify({ ...extra, header: { deviceId: header.deviceId, eventId: header.eventId, seq: header.seq, time: header.time }, metadata: opened.metadata }, null, "\t")}\n`);
	return { frames, ...(thumbnail ? { thumbnail } : {}), ...(snapshot ? { snapshot } : {}) };
}

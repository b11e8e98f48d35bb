/*
 * `doorward phone keygen`, `doorward pair` and `doorward open`: the owner's
 * app, as commands.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createPhone, loadPhone, phoneFingerprint, rememberDevice, savePhone, PhoneFileError } from "./identity.js";
import { OnboardingError, parseCode } from "./onboarding.js";
import { labelOf, readLabel } from "../factory/label.js";
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

export interface WifiNetwork {
	readonly ssid: string;
	readonly passphrase: string;
}

/** SSID:PASSPHRASE, as --wifi and --network take it (the SSID has no colon; the passphrase may). */
export function parseNetwork(text: string, option: string): WifiNetwork {
	const colon = text.indexOf(":");
	if (colon < 1)
		throw new PhoneFileError(`${option} ${text.slice(0, 40)}: expected SSID:PASSPHRASE`);
	return { ssid: text.slice(0, colon), passphrase: text.slice(colon + 1) };
}

/** Powers up the simulated device whose flash is `flash` and waits until it has booted. */
async function bootDevice(flash: string, say: (line: string) => void, wifi: readonly WifiNetwork[] = []): Promise<SimulatedDevice> {
	const flashPath = resolve(flash);
	mkdirSync(join(flashPath, ".."), { recursive: true });
	const device = new SimulatedDevice({
		build: simulatorBuild(),
		flashPath,
		secretPath: deviceSecretFor(flashPath),
		wifi,
		onLog: (line) => say(`device | ${line}`),
	});
	try {
		await new Promise<void>((resolveBoot, reject) => {
			device.on("status", (status) => (status.state !== "booting") && resolveBoot());
			device.once("exit", () => reject(new PhoneFileError("the device stopped while booting")));
		});
	}
	catch (error) {
		await device.powerOff();
		throw error;
	}
	return device;
}

/**
 * `doorward label`: the printed label of the simulated device whose flash is
 * `flash` (made on first use; the device draws its setup code then, and the
 * simulator keeps the label beside the flash as FILE.label.json).
 */
export async function label(flash: string, json: boolean, print: (line: string) => void, say: (line: string) => void): Promise<number> {
	const flashPath = resolve(flash);
	let printed = readLabel(flashPath);
	if (!printed) {
		const device = await bootDevice(flashPath, say);
		try {
			printed = await labelOf(device, flashPath);
		}
		catch (error) {
			throw new PhoneFileError(`${flashPath}: ${(error as Error).message}`);
		}
		finally {
			await device.powerOff();
		}
	}
	if (json)
		print(JSON.stringify({ deviceId: printed.deviceId, fingerprint: printed.fingerprint, setupCode: printed.setupCode, manualCode: printed.manualCode, qr: printed.qr }));
	else
		print(`device ${printed.deviceId}\nfingerprint ${printed.fingerprint}\nsetup code ${printed.manualCode}\nQR ${printed.qr}`);
	return 0;
}

export interface PairOptions {
	readonly code: string;
	/** The owner's network, sent to the device inside the session. */
	readonly wifi?: WifiNetwork;
	/** The simulated world's Wi-Fi: the networks in range of the device. */
	readonly networks?: readonly WifiNetwork[];
	readonly fingerprint?: string;
	readonly resetDevice?: boolean;
}

/**
 * Onboards a phone with the simulated device whose flash is `flash`, over its
 * simulated BLE link, with the label's code. The device id and fingerprint
 * come from the label beside the flash (its QR code); a device whose keys do
 * not match it is refused. The phone file changes only once the device has
 * admitted the phone.
 */
export async function pair(phoneFile: string, flash: string, options: PairOptions, say: (line: string) => void): Promise<number> {
	const phone = loadPhone(phoneFile);
	const flashPath = resolve(flash);
	const printed = readLabel(flashPath);
	if (!printed)
		throw new PhoneFileError(`${flashPath}: no label beside it (${flashPath}.label.json): run doorward label --flash ${flash} first`);
	const code = parseCode(options.code);
	const device = await bootDevice(flashPath, () => {}, options.networks ?? []);
	try {
		const reply = await device.pair(phone, { deviceId: printed.deviceId, setupCode: code }, options.wifi ? { wifi: options.wifi } : {});
		const shown = rememberDevice(phone, reply, options.fingerprint ?? printed.fingerprint, { resetDevice: options.resetDevice ?? false });
		savePhone(resolve(phoneFile), phone);
		say(`paired: device ${reply.deviceId}, fingerprint ${shown}, topic id ${reply.topicId}, role ${reply.role}, this phone's key id in its events ${phone.devices[reply.deviceId!].keyId}`);
		say(options.wifi ? `Wi-Fi ${JSON.stringify(options.wifi.ssid)}: ${reply.wifi}` : "Wi-Fi: not sent");
		return 0;
	}
	catch (error) {
		if (error instanceof OnboardingError)
			throw new PhoneFileError(error.message);
		throw error;
	}
	finally {
		await device.powerOff();
	}
}

/**
 * Verifies and decrypts a captured event; writes its frames (a ring
 * notification's snapshot) and metadata beside it, or to `out`. What was opened is saved in the phone file first,
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
	const { frames, thumbnail, snapshot } = saveOpenedEvent(folder, opened);
	// A ring is two events, its notification and then its clip: the line says which, as `doorward sim --json` does.
	const { notification, follows } = opened.metadata;
	print(JSON.stringify({
		eventId: header.eventId, deviceId: header.deviceId, seq: header.seq, kind: opened.metadata.kind, clock: opened.metadata.clock ?? "unknown",
		...(notification === true ? { notification } : {}), ...(typeof follows === "string" ? { follows } : {}),
		frames, ...(thumbnail ? { thumbnail } : {}), ...(snapshot ? { snapshot } : {}),
	}));
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

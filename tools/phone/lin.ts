/*
 * `doorward pair --lin`: onboards a phone with the firmware running in
 * Moddable's lin simulator (mcsim). lin's SDK BLE is stubs, so its onboarding
 * link is files in Moddable's file root on lin, /tmp
 * (hardware/provisioning/lin/provisioning.ts), carrying the same fragments
 * as the device's GATT service:
 *
 *   doorward-link-connect   (empty) the phone connects
 *   doorward-link-in.bin    one write; the phone writes the next once the device has deleted it
 *   doorward-link-out.bin   one notification; the phone reads and deletes it
 *
 * Each file is written beside its name and renamed into place, so neither
 * side reads half of one. The device polls every 50 ms.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ensureSigningKey, loadPhone, rememberDevice, savePhone, PhoneFileError } from "./identity.js";
import { onboard, OnboardingError, parseCode } from "./onboarding.js";
import type { PhoneLink } from "./onboarding.js";

/** Moddable's file root on lin (modules/files/file/manifest.json, "lin" > config.file.root). */
export const linFileRoot = "/tmp";
/** hardware/provisioning/lin/provisioning.ts linMtu: each message is one fragment. */
const linMtu = 1027;

export interface LinPairOptions {
	/** The folder the device polls: Moddable's file root on lin unless a test says otherwise. */
	readonly root?: string;
	readonly timeoutMs?: number;
	readonly pollMs?: number;
	/** Accept new keys for a device id the phone knows with others (identity.ts RememberOptions). */
	readonly resetDevice?: boolean;
}

/** The phone's end of lin's file link. */
export function linLink(root: string, pollMs: number): PhoneLink {
	const connectPath = join(root, "doorward-link-connect");
	const inPath = join(root, "doorward-link-in.bin");
	const outPath = join(root, "doorward-link-out.bin");
	const writes: Uint8Array[] = [];
	const notify: ((fragment: Uint8Array) => void)[] = [];
	let open = true;
	const place = (path: string, bytes: Uint8Array) => {
		const partial = `${path}.${process.pid}.partial`;
		writeFileSync(partial, bytes, { mode: 0o600 });
		renameSync(partial, path);
	};
	rmSync(outPath, { force: true });
	place(connectPath, new Uint8Array(0));
	const poll = async () => {
		while (open) {
			if (writes.length && !existsSync(inPath) && !existsSync(connectPath))
				place(inPath, writes.shift()!);
			if (existsSync(outPath)) {
				const bytes = readFileSync(outPath);
				rmSync(outPath, { force: true });
				notify.forEach((listener) => listener(bytes));
			}
			await sleep(pollMs);
		}
	};
	void poll();
	return {
		mtu: linMtu,
		write: (fragment) => writes.push(fragment),
		onNotify: (listener) => notify.push(listener),
		onClosed: () => {},
		disconnect: () => {
			open = false;
		},
	};
}

export async function pairLin(phoneFile: string, request: { deviceId: string; code: string; wifi?: { ssid: string; passphrase: string } }, fingerprint: string | undefined, say: (line: string) => void, options: LinPairOptions = {}): Promise<number> {
	const phone = loadPhone(phoneFile);
	const root = options.root ?? linFileRoot;
	const timeoutMs = options.timeoutMs ?? 10000;
	if (!/^[0-9a-f]{32}$/.test(request.deviceId))
		throw new PhoneFileError(`--device-id ${request.deviceId.slice(0, 40)}: expected the label's 32 hex digits`);
	const code = parseCode(request.code);
	const signingKey = ensureSigningKey(phone);
	let result;
	try {
		result = await onboard(linLink(root, options.pollMs ?? 20), {
			deviceId: request.deviceId, code, agreementKey: phone.x25519PublicKey, signingKey, name: phone.name, timeoutMs,
			...(request.wifi ? { wifi: request.wifi } : {}),
		});
	}
	catch (error) {
		if ((error instanceof OnboardingError) && /no answer/.test(error.message))
			throw new PhoneFileError(`no device answered in ${timeoutMs / 1000} s: is the lin build running in mcsim? (it reads ${join(root, "doorward-link-in.bin")} every 50 ms)`);
		throw error;
	}
	const shown = rememberDevice(phone, result.reply, fingerprint, { resetDevice: options.resetDevice ?? false });
	savePhone(resolve(phoneFile), phone);
	say(`paired: device ${result.reply.deviceId}, fingerprint ${shown}, topic id ${result.reply.topicId}, role ${result.reply.role}; Wi-Fi: ${result.wifi}`);
	return 0;
}

/*
 * `doorward pair --lin`: pairs a phone with the firmware running in
 * Moddable's lin simulator (mcsim). lin has no bridge; its local channel is
 * two files in Moddable's file root on lin, /tmp
 * (hardware/provisioning/lin/provisioning.ts): the device polls for
 * doorward-pair.json every 500 ms, deletes it, and answers in
 * doorward-pair-reply.json. The request is written beside its name and
 * renamed into place, as the device writes its reply, so neither side reads
 * half a file.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { loadPhone, rememberDevice, savePhone, PhoneFileError } from "./identity.js";
import type { PairingReply } from "./identity.js";

/** Moddable's file root on lin (modules/files/file/manifest.json, "lin" > config.file.root). */
export const linFileRoot = "/tmp";

export interface LinPairOptions {
	/** The folder the device polls: Moddable's file root on lin unless a test says otherwise. */
	readonly root?: string;
	readonly timeoutMs?: number;
	readonly pollMs?: number;
	/** Accept new keys for a device id the phone knows with others (identity.ts RememberOptions). */
	readonly resetDevice?: boolean;
}

export async function pairLin(phoneFile: string, fingerprint: string | undefined, say: (line: string) => void, options: LinPairOptions = {}): Promise<number> {
	const phone = loadPhone(phoneFile);
	const root = options.root ?? linFileRoot;
	const timeoutMs = options.timeoutMs ?? 10000;
	const requestPath = join(root, "doorward-pair.json");
	const replyPath = join(root, "doorward-pair-reply.json");
	if (existsSync(requestPath))
		throw new PhoneFileError(`${requestPath}: a pairing request is already waiting (another pair, or no device running to take it; delete it if not)`);
	rmSync(replyPath, { force: true }); // a reply to someone else's request, or to an earlier boot
	const partial = `${requestPath}.${process.pid}.partial`;
	writeFileSync(partial, JSON.stringify({ phone: phone.x25519PublicKey, name: phone.name }), { mode: 0o600 });
	renameSync(partial, requestPath);
	const deadline = Date.now() + timeoutMs;
	let reply: PairingReply | undefined;
	while (!reply) {
		if (existsSync(replyPath)) {
			const text = readFileSync(replyPath, "utf8");
			rmSync(replyPath, { force: true });
			try {
				reply = JSON.parse(text) as PairingReply;
			}
			catch {
				throw new PhoneFileError(`${replyPath}: the device's reply is not JSON`);
			}
			break;
		}
		if (Date.now() >= deadline) {
			rmSync(requestPath, { force: true });
			throw new PhoneFileError(`no device answered in ${timeoutMs / 1000} s: is the lin build running in mcsim? (it reads ${requestPath} every 500 ms)`);
		}
		await sleep(options.pollMs ?? 100);
	}
	const shown = rememberDevice(phone, reply, fingerprint, { resetDevice: options.resetDevice ?? false });
	savePhone(resolve(phoneFile), phone);
	say(`paired: device ${reply.deviceId}, fingerprint ${shown}, topic id ${reply.topicId}`);
	return 0;
}

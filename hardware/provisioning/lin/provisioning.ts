/*
 * Provisioning in Moddable's lin simulator, which has no factory station:
 * the configuration message is the data resource lin-configuration.json,
 * built into the app (see manifest.json "lin" > "data"). It is the exact
 * message a station would send: UTF-8 JSON, checked by the firmware as any
 * other. Edit it and rebuild to point the simulator at another broker.
 *
 * The firmware stores what it accepts in flash, /tmp/doorward-lin-doorward.flash
 * on lin, and asks again only when that holds no configuration: delete the
 * file to provision afresh.
 *
 * A station answers each request with a message; this one has a single
 * message, so it answers once per boot. Were that refused, a second request
 * waits forever rather than receive the same refused message in a loop.
 */
import Resource from "Resource";
import { File } from "file";
import Timer from "timer";
import config from "mc/config";
import type { LocalLink, LocalLinkHandlers } from "hardware/provisioning/link";

const configurationResource = "lin-configuration.json";

let answered = false;

export function requestConfiguration(): Promise<ArrayBuffer> {
	if (answered) {
		trace(`lin provisioning: ${configurationResource} was refused; fix it and rebuild\n`);
		return new Promise(() => {});
	}
	answered = true;
	return new Promise((resolve) => resolve(new Resource(configurationResource).slice(0)));
}

/**
 * The factory line on lin: a request (one JSON object) written to
 * /tmp/doorward-pair.json gets its reply in /tmp/doorward-pair-reply.json,
 * by hand (docs/porting.md, "Running it": the setup-code step); phones use
 * the onboarding link below, never this. /tmp is Moddable's file root on
 * lin; only a local user can write there. The reply is written beside its
 * name and renamed into place, so a reader never sees half of one; a request
 * should be written the same way.
 */
export function onPairingRequest(handler: (request: ArrayBuffer) => ArrayBuffer): void {
	const requestPath = `${config.file.root}doorward-pair.json`;
	const replyPath = `${config.file.root}doorward-pair-reply.json`;
	const partialPath = `${replyPath}.partial`;
	if (File.exists(requestPath))
		File.delete(requestPath); // a request left from before boot was not made to this boot
	Timer.repeat(() => {
		if (!File.exists(requestPath))
			return;
		let request: ArrayBuffer;
		try {
			const file = new File(requestPath);
			// An empty file has nothing to read (File.read throws): it is an empty request, which the handler refuses.
			request = (file.length > 0) ? file.read(ArrayBuffer) as ArrayBuffer : new ArrayBuffer(0);
			file.close();
		}
		catch (error) {
			trace(`lin factory line: cannot read ${requestPath}: ${(error as Error).message}\n`);
			request = new ArrayBuffer(0);
		}
		File.delete(requestPath);
		const reply = handler(request);
		File.delete(partialPath);
		const file = new File(partialPath, true);
		file.write(reply);
		file.close();
		if (!File.rename(partialPath, replyPath))
			trace(`lin factory line: cannot rename ${partialPath} to ${replyPath}\n`);
	}, 500);
}

/**
 * The onboarding link on lin, whose SDK BLE is stubs: files in /tmp, only
 * a local user can write there. `doorward pair --lin` plays the phone.
 *
 * - doorward-link-connect (empty): a phone connects (any current connection ends).
 * - doorward-link-in.bin: one write, one fragment (src/onboarding/frames.ts);
 *   the device reads and deletes it, so the phone writes the next once it is gone.
 * - doorward-link-out.bin: one notification; the device writes the next once the
 *   phone has deleted it. Both sides write beside the name and rename into place.
 * The MTU is linMtu: every message of the exchange is one fragment.
 */
export const linMtu = 1027;

function readAll(path: string): Uint8Array {
	const file = new File(path);
	const bytes = (file.length > 0) ? new Uint8Array(file.read(ArrayBuffer) as ArrayBuffer) : new Uint8Array(0);
	file.close();
	return bytes;
}

export function onLocalLink(connect: (link: LocalLink) => LocalLinkHandlers): void {
	const root = config.file.root;
	const connectPath = `${root}doorward-link-connect`;
	const inPath = `${root}doorward-link-in.bin`;
	const outPath = `${root}doorward-link-out.bin`;
	const partialPath = `${outPath}.partial`;
	for (const stale of [connectPath, inPath, outPath])
		if (File.exists(stale))
			File.delete(stale); // left from before boot: not made to this boot
	let current: LocalLinkHandlers | undefined;
	let connection = 0;
	let queue: Uint8Array[] = [];
	Timer.repeat(() => {
		if (File.exists(connectPath)) {
			File.delete(connectPath);
			current?.onDisconnect();
			queue = [];
			if (File.exists(outPath))
				File.delete(outPath);
			const mine = ++connection;
			current = connect({
				mtu: linMtu,
				notify(fragment: Uint8Array) {
					if (mine === connection)
						queue.push(fragment.slice());
				},
				disconnect() {
					if (mine === connection) {
						connection++;
						current = undefined;
					}
				},
			});
		}
		if (File.exists(inPath)) {
			let bytes: Uint8Array;
			try {
				bytes = readAll(inPath);
			}
			catch {
				bytes = new Uint8Array(0);
			}
			File.delete(inPath);
			current?.onWrite(bytes);
		}
		if (queue.length && !File.exists(outPath)) {
			if (File.exists(partialPath))
				File.delete(partialPath);
			const file = new File(partialPath, true);
			file.write(queue.shift()!.buffer as ArrayBuffer);
			file.close();
			File.rename(partialPath, outPath);
		}
	}, 50);
}

/** lin runs on the host's network: there is no Wi-Fi to join, and it says so rather than pretend. */
export function joinNetwork(ssid: string, _passphrase: string): Promise<"joined" | "wrong passphrase" | "network not found"> {
	return Promise.reject(new Error(`lin has no Wi-Fi (it uses the host's network): ${JSON.stringify(ssid)} kept, not joined`));
}

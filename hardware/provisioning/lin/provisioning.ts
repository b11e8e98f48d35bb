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
 * Pairing on lin: a request (one JSON object) written to
 * /tmp/doorward-pair.json gets its reply in /tmp/doorward-pair-reply.json;
 * `doorward pair --lin` does both. /tmp is Moddable's file root on lin; only
 * a local user can write there. The reply is written beside its name and
 * renamed into place, so a reader never sees half of one; a request should
 * be written the same way (the CLI does).
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
			trace(`lin pairing: cannot read ${requestPath}: ${(error as Error).message}\n`);
			request = new ArrayBuffer(0);
		}
		File.delete(requestPath);
		const reply = handler(request);
		File.delete(partialPath);
		const file = new File(partialPath, true);
		file.write(reply);
		file.close();
		if (!File.rename(partialPath, replyPath))
			trace(`lin pairing: cannot rename ${partialPath} to ${replyPath}\n`);
	}, 500);
}

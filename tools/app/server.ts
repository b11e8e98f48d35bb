/*
 * `doorward app`: the owner's app in a browser, against a simulated doorbell.
 * Three things in this process:
 *
 * - the simulated device (tools/sim/world.ts), with the scene in front of its
 *   camera, and its label printed here (the stand-in for the sticker);
 * - the embedded broker (tools/sim/broker.ts), with an MQTT-over-WebSocket
 *   listener beside its TCP one: the device publishes over TCP, the app
 *   subscribes over WebSocket, with the phone's credentials;
 * - an HTTP server on 127.0.0.1 for the app, bundled now by esbuild from
 *   tools/app/web, with a Content-Security-Policy that allows this origin and
 *   the broker's WebSocket and nothing else. /link is the device's BLE link as
 *   a WebSocket: one binary message per fragment, both ways.
 */
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { WebSocketServer } from "ws";
import { projectRoot, simulatorBuild } from "../build/firmware.js";
import { labelFile, labelOf } from "../factory/label.js";
import type { Label } from "../factory/label.js";
import { startEmbeddedBroker } from "../sim/broker.js";
import type { EmbeddedBroker } from "../sim/broker.js";
import { loadScene } from "../sim/scene.js";
import { SimulatedDevice, deviceSecretFor, playTimeline } from "../sim/world.js";

const webRoot = join(projectRoot, "tools", "app", "web");

/** The app as the browser gets it: one script, the page, its style and two pictures. */
export async function bundleApp(): Promise<Map<string, { type: string; body: Buffer }>> {
	const result = await build({
		entryPoints: [join(webRoot, "main.ts")],
		bundle: true,
		format: "esm",
		platform: "browser",
		target: "chrome120",
		write: false,
		minify: true,
		legalComments: "none",
		logLevel: "silent",
	});
	const files = new Map<string, { type: string; body: Buffer }>();
	files.set("/app.js", { type: "text/javascript; charset=utf-8", body: Buffer.from(result.outputFiles[0].contents) });
	const statics: [string, string][] = [["index.html", "text/html; charset=utf-8"], ["app.css", "text/css; charset=utf-8"], ["icon.svg", "image/svg+xml"], ["no-picture.svg", "image/svg+xml"]];
	for (const [name, type] of statics)
		files.set(`/${name}`, { type, body: readFileSync(join(webRoot, "static", name)) });
	files.set("/", files.get("/index.html")!);
	return files;
}

export interface AppOptions {
	/** Keeps the device's flash (and its label) between runs; a new device each run without it. */
	flash?: string;
	/** The HTTP port on 127.0.0.1; 0 for a free one. */
	port: number;
	scene: string;
	/** Plays the scene's timeline (visitor, ring) once the device is online, repeating. */
	timeline: boolean;
	/** The Wi-Fi networks the simulated world has in range. */
	networks: { ssid: string; passphrase: string }[];
	out: string;
	say: (line: string) => void;
}

export interface RunningApp {
	readonly url: string;
	readonly device: SimulatedDevice;
	readonly broker: EmbeddedBroker;
	/** The device's printed label, once it has booted. */
	readonly label: Promise<Label>;
	/** Resolves when the device is online (connected to the broker). */
	readonly online: Promise<void>;
	close(): Promise<void>;
}

export async function startApp(options: AppOptions): Promise<RunningApp> {
	const scene = loadScene(options.scene);
	const files = await bundleApp();
	const out = resolve(options.out);
	mkdirSync(out, { recursive: true });
	const flashPath = resolve(options.flash ?? join(out, "flash.bin"));
	if (!options.flash) {
		rmSync(flashPath, { force: true });
		rmSync(labelFile(flashPath), { force: true });
	}
	const broker = await startEmbeddedBroker(undefined, undefined, { webSocket: true });
	const device = new SimulatedDevice({
		build: simulatorBuild(),
		flashPath,
		secretPath: deviceSecretFor(flashPath),
		configuration: {
			...scene.device,
			broker: { address: "127.0.0.1", port: broker.port, ...broker.device },
			model: "doorward-sim",
			hardwareRevision: "sim",
		},
		wifi: options.networks,
		onLog: (line) => options.say(`device | ${line}`),
	});
	device.setScene(scene);
	device.on("warning", (message: string) => options.say(`world: ${message}`));

	let deviceId: string | undefined;
	let labelled: (label: Label) => void = () => {};
	let failed: (error: Error) => void = () => {};
	const label = new Promise<Label>((resolveLabel, reject) => { labelled = resolveLabel; failed = reject; });
	let wentOnline: () => void = () => {};
	const online = new Promise<void>((resolveOnline) => { wentOnline = resolveOnline; });
	let asked = false;
	let stopTimeline: (() => void) | undefined;
	device.on("status", (status) => {
		if (!asked && (status.state !== "booting")) {
			asked = true;
			labelOf(device, flashPath).then((printed) => {
				deviceId = printed.deviceId;
				labelled(printed);
			}, failed);
		}
		if (status.state === "online") {
			wentOnline();
			if (options.timeline && !stopTimeline)
				stopTimeline = playTimeline(device, scene);
		}
	});
	label.catch(() => {});

	const server = createServer((request, response) => serve(request, response));
	const links = new WebSocketServer({ noServer: true, maxPayload: 600 });
	let origin = "";
	let csp = "";
	const serve = (request: IncomingMessage, response: ServerResponse) => {
		// Only this origin by name: a page on another site that resolves its name to 127.0.0.1 gets nothing.
		if (request.headers.host !== new URL(origin).host) {
			response.writeHead(421, { "content-type": "text/plain" }).end("wrong host\n");
			return;
		}
		const path = new URL(request.url ?? "/", origin).pathname;
		const headers = {
			"content-security-policy": csp,
			"x-content-type-options": "nosniff",
			"referrer-policy": "no-referrer",
			"cross-origin-opener-policy": "same-origin",
			"cross-origin-resource-policy": "same-origin",
			"cache-control": "no-store",
		};
		if ((request.method !== "GET") && (request.method !== "HEAD")) {
			response.writeHead(405, { ...headers, allow: "GET, HEAD" }).end();
			return;
		}
		if (path === "/config.json") {
			const config = {
				broker: { url: broker.webSocketUrl, username: broker.phone.username, password: broker.phone.password, topics: "all" },
				link: "/link",
				nearby: deviceId ? [{ deviceId }] : [],
			};
			response.writeHead(200, { ...headers, "content-type": "application/json" }).end(JSON.stringify(config));
			return;
		}
		const file = files.get(path);
		if (!file) {
			response.writeHead(404, { ...headers, "content-type": "text/plain" }).end("not found\n");
			return;
		}
		response.writeHead(200, { ...headers, "content-type": file.type });
		response.end(request.method === "HEAD" ? undefined : file.body);
	};
	server.on("upgrade", (request, socket, head) => {
		const url = new URL(request.url ?? "/", origin);
		if ((url.pathname !== "/link") || (request.headers.origin !== origin) || (request.headers.host !== new URL(origin).host)) {
			socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
			return;
		}
		const mtu = Number(url.searchParams.get("mtu") ?? 185);
		if (!Number.isInteger(mtu) || (mtu < 23) || (mtu > 517)) {
			socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
			return;
		}
		links.handleUpgrade(request, socket, head, (ws) => {
			// One connection at a time, as the device's GATT server allows: a new one ends the old.
			const link = device.connectLink(mtu);
			link.onNotify((fragment) => ws.send(fragment));
			link.onClosed(() => ws.close());
			ws.on("message", (data, isBinary) => {
				if (!isBinary || !(data instanceof Buffer) || (data.length > mtu - 3)) {
					ws.close(1003, "one fragment per binary message, at most MTU - 3 bytes");
					return;
				}
				link.write(new Uint8Array(data));
			});
			ws.on("close", () => link.disconnect());
		});
	});
	await new Promise<void>((resolveListen, reject) => {
		server.once("error", reject);
		server.listen(options.port, "127.0.0.1", () => resolveListen());
	});
	const port = (server.address() as AddressInfo).port;
	origin = `http://127.0.0.1:${port}`;
	csp = [
		"default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob:",
		`connect-src 'self' ws://127.0.0.1:${port} ${broker.webSocketUrl!.replace(/\/mqtt$/, "")}`,
		"base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
	].join("; ");

	return {
		url: `${origin}/`,
		device,
		broker,
		label,
		online,
		async close() {
			stopTimeline?.();
			for (const client of links.clients)
				client.terminate();
			server.closeAllConnections();
			await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
			device.removeAllListeners("exit");
			await device.powerOff();
			await broker.close();
		},
	};
}

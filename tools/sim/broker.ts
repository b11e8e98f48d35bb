/*
 * The embedded broker for `doorward sim`: aedes, in this process, on a free
 * loopback port. It is not open: each run makes random credentials for the
 * device, the phone and a release server. The device may publish events and
 * read its update and request topics, and publish on live-view session
 * topics; the phone may read events and live-view session topics (each by
 * its name) and publish signed requests (docs/protocol/requests.md); the release server may only
 * publish to update topics.
 */
import { createServer } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import { createServer as createHttpServer } from "node:http";
import type { Server as HttpServer } from "node:http";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { Aedes } from "aedes";
import { WebSocketServer, createWebSocketStream } from "ws";

export interface Credentials {
	readonly username: string;
	readonly password: string;
}

export interface EmbeddedBroker {
	readonly port: number;
	readonly url: string;
	readonly device: Credentials;
	readonly phone: Credentials;
	readonly release: Credentials;
	/** MQTT over WebSocket (ws://127.0.0.1:PORT/mqtt), when asked for: the owner's app in a browser connects there. */
	readonly webSocketUrl?: string;
	/** Drops every client connection, as a network cut would; the listener stays. */
	dropClients(): void;
	/** Stops listening and drops every client, as a broker that went down. */
	stop(): Promise<void>;
	/** Listens again on the same port. */
	restart(): Promise<void>;
	close(): Promise<void>;
}

function credentials(role: string): Credentials {
	return { username: `${role}-${randomBytes(4).toString("hex")}`, password: randomBytes(24).toString("base64url") };
}

function matches(expected: Credentials, username: string | undefined, password: Buffer | undefined): boolean {
	if ((username !== expected.username) || !password)
		return false;
	const wanted = Buffer.from(expected.password);
	return (password.length === wanted.length) && timingSafeEqual(password, wanted);
}

const eventTopic = /^dw\/[0-9a-f]{32}\/ev$/;
const updateTopic = /^dw\/[0-9a-f]{32}\/up$/;
const requestTopic = /^dw\/[0-9a-f]{32}\/rq$/;
/** A live view's session topic (docs/protocol/live.md): the device publishes on it, its one phone reads it, by name (no wildcard). */
const liveTopic = /^dw\/lv\/[0-9a-f]{32}$/;

/** A broker's port and credentials, to start it again as it was (a simulated device keeps them in its configuration). */
export interface BrokerSettings {
	readonly port: number;
	readonly device: Credentials;
	readonly phone: Credentials;
	readonly release: Credentials;
}

/**
 * `tap` sees every byte that clients send to the broker, as a capture on the
 * wire would; `onPublish` each client's PUBLISH as the broker has it whole
 * (what `npm run bench:latency` times "at the broker" by). `settings`: the
 * port and credentials of an earlier run, for a device whose stored
 * configuration names them; new ones otherwise. `webSocket`: a second
 * listener for MQTT over WebSocket (the owner's app).
 */
export async function startEmbeddedBroker(tap?: (bytes: Buffer) => void, onPublish?: (topic: string, payload: Buffer) => void, options: { webSocket?: boolean; settings?: BrokerSettings } = {}): Promise<EmbeddedBroker> {
	const { settings } = options;
	const device = settings?.device ?? credentials("device");
	const phone = settings?.phone ?? credentials("phone");
	const release = settings?.release ?? credentials("release");
	const roles = new WeakMap<object, "device" | "phone" | "release">();
	const aedes = await Aedes.createBroker({
		authenticate(client, username, password, done) {
			const role = matches(device, username, password) ? "device" : matches(phone, username, password) ? "phone" : matches(release, username, password) ? "release" : undefined;
			if (!role) {
				const error = Object.assign(new Error("bad user name or password"), { returnCode: 4 });
				done(error as never, false);
				return;
			}
			roles.set(client, role);
			done(null, true);
		},
		authorizePublish(client, packet, done) {
			const role = client ? roles.get(client) : undefined;
			const allowed = ((role === "device") && (eventTopic.test(packet.topic) || liveTopic.test(packet.topic))) || ((role === "release") && updateTopic.test(packet.topic))
				|| ((role === "phone") && requestTopic.test(packet.topic));
			done(allowed ? null : new Error("publish not allowed"));
		},
		authorizeSubscribe(client, subscription, done) {
			const role = roles.get(client);
			const allowed = ((role === "phone") && ((subscription.topic === "dw/+/ev") || eventTopic.test(subscription.topic) || liveTopic.test(subscription.topic)))
				|| ((role === "device") && (updateTopic.test(subscription.topic) || requestTopic.test(subscription.topic)));
			done(allowed ? null : new Error("subscribe not allowed"), subscription);
		},
	});
	if (onPublish)
		aedes.on("publish", (packet, client) => {
			if (client)
				onPublish(packet.topic, packet.payload as Buffer);
		});
	const sockets = new Set<Socket>();
	const server: Server = createServer((socket) => {
		sockets.add(socket);
		socket.on("close", () => sockets.delete(socket));
		if (tap)
			socket.on("data", (chunk: Buffer) => tap(chunk));
		aedes.handle(socket);
	});
	// Listens on `on`; the error handler is taken off again once listening, so restarts do not pile them up.
	const listen = (what: Server | HttpServer, on: number) => new Promise<void>((resolve, reject) => {
		what.once("error", reject);
		what.listen(on, "127.0.0.1", () => {
			what.off("error", reject);
			resolve();
		});
	});
	await listen(server, settings?.port ?? 0);
	const port = (server.address() as AddressInfo).port;
	// The WebSocket listener is a second door to the same broker, with the same credentials and rules; its
	// connections are dropped, stopped and restarted with the TCP ones.
	let web: { server: HttpServer; port: number } | undefined;
	if (options.webSocket) {
		const httpServer = createHttpServer((_request, response) => response.writeHead(426, { "content-type": "text/plain" }).end("MQTT over WebSocket only\n"));
		const wss = new WebSocketServer({ server: httpServer, path: "/mqtt", handleProtocols: (protocols) => (protocols.has("mqtt") ? "mqtt" : false) });
		wss.on("connection", (socket, request) => {
			sockets.add(request.socket);
			request.socket.on("close", () => sockets.delete(request.socket));
			const stream = createWebSocketStream(socket);
			if (tap)
				socket.on("message", (data: Buffer) => tap(data));
			stream.on("error", () => socket.terminate());
			aedes.handle(stream as never);
		});
		await listen(httpServer, 0);
		web = { server: httpServer, port: (httpServer.address() as AddressInfo).port };
	}
	const unlisten = (what: Server | HttpServer) => what.listening ? new Promise<void>((resolve) => what.close(() => resolve())) : Promise.resolve();
	return {
		port,
		url: `mqtt://127.0.0.1:${port}`,
		...(web ? { webSocketUrl: `ws://127.0.0.1:${web.port}/mqtt` } : {}),
		device,
		phone,
		release,
		dropClients() {
			for (const socket of sockets)
				socket.destroy();
		},
		async stop() {
			for (const socket of sockets)
				socket.destroy();
			await Promise.all([unlisten(server), ...(web ? [unlisten(web.server)] : [])]);
		},
		async restart() {
			await listen(server, port);
			if (web)
				await listen(web.server, web.port);
		},
		async close() {
			for (const socket of sockets)
				socket.destroy();
			await Promise.all([unlisten(server), ...(web ? [unlisten(web.server)] : [])]);
			await new Promise<void>((resolve) => aedes.close(() => resolve()));
		},
	};
}

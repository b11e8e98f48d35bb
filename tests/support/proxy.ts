/*
 * A TCP proxy on loopback between a device and its broker, to cut or stall
 * the network under it: `cut()` closes every connection (a link drop);
 * `stall()` keeps them open but forwards nothing (a dead path, as when a
 * router dies), until `resume()`.
 */
import { createConnection, createServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";

export interface Proxy {
	readonly port: number;
	cut(): void;
	stall(): void;
	resume(): void;
	close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<Proxy> {
	const pairs = new Set<[Socket, Socket]>();
	let stalled = false;
	const server = createServer((client) => {
		const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
		const pair: [Socket, Socket] = [client, upstream];
		pairs.add(pair);
		const forward = (from: Socket, to: Socket) => from.on("data", (chunk) => {
			if (!stalled)
				to.write(chunk);
		});
		forward(client, upstream);
		forward(upstream, client);
		const close = () => {
			client.destroy();
			upstream.destroy();
			pairs.delete(pair);
		};
		client.on("close", close);
		upstream.on("close", close);
		client.on("error", close);
		upstream.on("error", close);
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
	const cut = () => {
		for (const [client, upstream] of pairs) {
			client.destroy();
			upstream.destroy();
		}
	};
	return {
		port: (server.address() as AddressInfo).port,
		cut,
		stall() {
			stalled = true;
		},
		resume() {
			stalled = false;
		},
		async close() {
			cut();
			await new Promise((resolve) => server.close(resolve));
		},
	};
}

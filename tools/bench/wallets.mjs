// wallets.mjs: the wallet side of tools/bench/bench's POST /v1/auth/verify
// case (ethers v6, installed by the script under var/bench/signer; these
// are throw-away keys of the benchmark, never real ones).
//
//   node wallets.mjs gen K > KEYS
//       K fresh random wallets, "address key" a line
//   node wallets.mjs sign KEYS NAMESPACE OUTPREFIX T < CHALLENGES
//       CHALLENGES: the bodies of POST /v1/auth/challenge answers, one a
//       line (challenge.lua).  Signs each message (personal_sign) with the
//       key of the address it names and writes the verify body, one a
//       line, to OUTPREFIX-1.txt .. OUTPREFIX-T.txt in turn (one file a
//       wrk thread); prints how many it wrote.
import { Wallet } from "ethers";
import { readFileSync, writeFileSync } from "node:fs";

const [cmd, ...args] = process.argv.slice(2);
if (cmd === "gen") {
	const out = [];
	for (let i = 0; i < Number(args[0]); i++) {
		const w = Wallet.createRandom();
		out.push(`${w.address} ${w.privateKey}`);
	}
	console.log(out.join("\n"));
} else if (cmd === "sign") {
	const [keysFile, ns, prefix, t] = args;
	const keys = new Map();
	for (const line of readFileSync(keysFile, "utf8").split("\n")) {
		const [a, k] = line.split(" ");
		if (a && k)
			keys.set(a.toLowerCase(), new Wallet(k));
	}
	const outs = Array.from({ length: Number(t) }, () => []);
	let n = 0;
	for (const line of readFileSync(0, "utf8").split("\n")) {
		if (!line)
			continue;
		const c = JSON.parse(line);
		const addr = (c.message.match(/0x[0-9a-fA-F]{40}/) || [""])[0];
		const w = keys.get(addr.toLowerCase());
		if (!w || !c.nonce)
			continue;
		const signature = await w.signMessage(c.message);
		outs[n % outs.length].push(JSON.stringify({ wallet: w.address,
		    nonce: c.nonce, signature, namespace: ns, message: c.message }));
		n++;
	}
	outs.forEach((o, i) => writeFileSync(`${prefix}-${i + 1}.txt`,
	    o.join("\n") + (o.length ? "\n" : "")));
	console.log(n);
} else {
	console.error("usage: wallets.mjs gen K | sign KEYS NS OUTPREFIX T");
	process.exit(2);
}

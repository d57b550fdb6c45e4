import pg from 'pg';
import fs from 'fs';
const env = Object.fromEntries(fs.readFileSync('/tmp/tc.env','utf8').split('\n').filter(l=>l.includes('=')).map(l=>{const i=l.indexOf('=');return [l.slice(0,i), l.slice(i+1).replace(/^'|'$/g,'').replace(/^"|"$/g,'')]}));
const cfg = { host: '127.0.0.1', port: 55432, user: env.TOFU_REGISTRY_DB_USER, password: env.TOFU_REGISTRY_DB_PASSWORD, database: 'bench_noop' };
const stmts = fs.readFileSync('/tmp/catalog.sql','utf8').split(/\n(?=SELECT)/).map(s=>s.trim());
const variants = { all: stmts.join(';\n'), first: stmts[0] };
stmts.forEach((_, i) => { variants['without' + i] = stmts.filter((_, j) => j !== i).join(';\n'); });
const times = Object.fromEntries(Object.keys(variants).map(k => [k, []]));
for (let r = 0; r < 25; r++) for (const [k, sql] of Object.entries(variants)) {
  const c = new pg.Client(cfg); await c.connect();
  const t = process.hrtime.bigint(); await c.query(sql); times[k].push(Number(process.hrtime.bigint() - t) / 1e6);
  await c.end();
}
const med = a => [...a].sort((x,y)=>x-y)[a.length>>1];
for (const [k, v] of Object.entries(times)) console.log(k, med(v).toFixed(2));

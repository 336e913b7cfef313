var total = 0;
for (let i = 0; i < 100; i++) total += i * 2;
const text = `template ${total} ${[1, 2, 3].map((x) => x ** 2).join(',')}`;
class Point { constructor(x, y) { this.x = x; this.y = y } get norm() { return Math.hypot(this.x, this.y) } }
label: for (const k of Object.keys({ a: 1, b: 2 })) { if (k === 'b') break label }
try { null.x } catch ({ message }) { total += message.length }
const re2 = /(?<year>\d{4})-(?<month>\d{2})/u.exec('2026-12');
async function* gen() { yield* [1, 2] }
[text, new Point(3, 4).norm, re2.groups.year, typeof gen, 0x1fn ** 3n, 'é'.normalize('NFD').length];

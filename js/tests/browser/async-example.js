// The event-loop example (README "Timers, host functions and binary
// values"): awaits two async host functions, uses timers, returns bytes.
// The host gives host.greeting() (the bytes of "hello from the host") and
// host.numbers() (the bytes 1, 2, 3, 4, 5), each as a Uint8Array promise.
// On the virtual clock the result is always the same bytes:
// "hello from the host; sum 15; tick 10, tick 20; at 25".
(async () => {
  const log = [];
  const ticker = setInterval(() => log.push(`tick ${Date.now()}`), 10);
  const [greeting, numbers] = await Promise.all([host.greeting(), host.numbers()]);
  await new Promise((resolve) => setTimeout(resolve, 25));
  clearInterval(ticker);
  const text = new TextDecoder().decode(greeting);
  const sum = numbers.reduce((a, b) => a + b, 0);
  return new TextEncoder().encode(`${text}; sum ${sum}; ${log.join(', ')}; at ${Date.now()}`);
})()

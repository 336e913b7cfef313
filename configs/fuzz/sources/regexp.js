'The Quick Brown Fox'.replace(/(\w)(\w*)/g, (m, a, b) => b + a + 'ay').split(' ').sort().join(' ') + /^(a+)+$/.test('aaaa')

JSON.stringify(JSON.parse('{"a":[1,2,{"b":"\\u00e9\\ud83d\\ude00"}],"c":true,"d":null,"e":-1.5e300}'), null, 2)

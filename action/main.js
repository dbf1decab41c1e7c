'use strict';
// The action's main step: find magento-auth, then `magento-auth setup`.
require('./launcher')
  .main()
  .then((code) => {
    process.exitCode = code;
  });

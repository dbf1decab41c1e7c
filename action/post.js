'use strict';
// The action's post step (post-if: always()): `magento-auth cleanup`.
require('./launcher')
  .post()
  .then((code) => {
    process.exitCode = code;
  });
